"""Masking of Rasa events before they leave the conversation: to the event broker and to the tracker store.

Why: every turn becomes events. The event broker (RabbitMQ) hands them to any consumer bound to the
exchange, and the tracker store keeps them for months; both would hold what residents typed, including
names, phone and ID numbers. The help-request record is the one place a full phone number is kept.

Two strengths, one module:
- `for_broker`: nothing identifying leaves. User and bot texts are dropped (analytics needs intents and
  actions, not words), entity values masked, names reduced to their first character, message metadata
  (client address) dropped. Slot values travel only when they are closed choices (BROKER_SLOTS, numbers,
  yes/no); free text such as the description of the resident's situation is dropped.
- `for_tracker`: the tracker must still drive the dialogue. Texts keep their words with phone and ID
  numbers masked; slot values are masked too, except the slots a running form still needs in full
  (FORM_SLOTS_KEPT: the phone until the request is saved, after which the action clears it). Those
  remaining raw values are covered by the tracker retention purge and by `erase` (bot/store/erasure.py).
"""

from __future__ import annotations

from typing import Any

from bot.privacy import mask_phone, mask_text

# Slots whose raw value a running form reads again in a later turn (the request is saved from them).
FORM_SLOTS_KEPT = frozenset({"phone", "person_name"})
NAME_SLOTS = frozenset({"person_name"})
PHONE_SLOTS = frozenset({"phone"})
DROPPED_TEXT = ""
# Slots whose string values are closed choices (categories, districts, form steps): safe to publish.
BROKER_SLOTS = frozenset(
    {
        "hr_category",
        "hr_urgency",
        "district",
        "residence",
        "last_topic",
        "offered_check",
        "elig_program",
        "requested_slot",
        "work_location",
    }
)


def mask_name(name: Any) -> Any:
    """'王秀兰' -> '王**': the family name only."""
    if not isinstance(name, str) or not name:
        return name
    return name[0] + "*" * (len(name) - 1)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(v) for v in value]
    return value


def mask_slot(name: str, value: Any) -> Any:
    if name in PHONE_SLOTS and isinstance(value, str):
        return mask_phone(value)
    if name in NAME_SLOTS:
        return mask_name(value)
    return _mask_value(value)


def _mask_parse_data(parse: dict[str, Any], keep_text: bool) -> None:
    if "text" in parse:
        parse["text"] = mask_text(parse["text"]) if keep_text else DROPPED_TEXT
    for entity in parse.get("entities") or []:
        if isinstance(entity, dict) and "value" in entity:
            entity["value"] = mask_slot(str(entity.get("entity")), entity["value"])
    parse.pop("response_selector", None)


def _broker_slot_value(name: str, value: Any) -> Any:
    if name in PHONE_SLOTS or name in NAME_SLOTS:
        return mask_slot(name, value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str) and name in BROKER_SLOTS:
        return value
    return DROPPED_TEXT


def _copy_to_mask(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of the event in which every part masking changes (the event's keys, its parse data and
    entities, its metadata) is a copy too; other nested values are shared with `event`, and callers only
    serialise the result. `copy.deepcopy` of a user event (its intent ranking) was a sixth of a save's CPU."""
    out = dict(event)
    parse = out.get("parse_data")
    if isinstance(parse, dict):
        parse = dict(parse)
        if isinstance(parse.get("entities"), list):
            parse["entities"] = [dict(e) if isinstance(e, dict) else e for e in parse["entities"]]
        out["parse_data"] = parse
    if isinstance(out.get("metadata"), dict):
        out["metadata"] = dict(out["metadata"])
    return out


def for_broker(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of a serialised event fit for the event broker."""
    out = _copy_to_mask(event)
    kind = out.get("event")
    if kind in ("user", "bot"):
        out["text"] = DROPPED_TEXT
        out.pop("metadata", None)
        if kind == "bot":
            out.pop("data", None)
        if isinstance(out.get("parse_data"), dict):
            _mask_parse_data(out["parse_data"], keep_text=False)
    elif kind == "slot":
        out["value"] = _broker_slot_value(str(out.get("name")), out.get("value"))
    elif kind == "user_featurization" or kind == "entities":
        out = {k: v for k, v in out.items() if k in ("event", "timestamp", "sender_id")}
    return out


def for_tracker(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of a serialised event fit for the tracker store (see the module doc for what stays)."""
    out = _copy_to_mask(event)
    kind = out.get("event")
    if kind in ("user", "bot"):
        if isinstance(out.get("text"), str):
            out["text"] = mask_text(out["text"])
        if isinstance(out.get("parse_data"), dict):
            # Entity values are read only in the turn they arrive (before the save), so they are masked.
            _mask_parse_data(out["parse_data"], keep_text=True)
        if kind == "user" and isinstance(out.get("metadata"), dict):
            out["metadata"].pop("client_address", None)
    elif kind == "slot" and out.get("name") not in FORM_SLOTS_KEPT:
        out["value"] = _mask_value(out.get("value"))
    return out
