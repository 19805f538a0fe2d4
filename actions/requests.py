"""Help requests: collect, confirm, save (idempotently), and let the same resident ask for the status."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.common import closed_choice, latest_entities, latest_intent, latest_text, read_back_answer
from actions.texts import message, reask, say
from bot.metrics import saved_request
from bot.nlu.entity_rules import find_reference_numbers
from bot.nlu.places import district_of
from bot.privacy import MOBILE_DIGITS, mask_phone, normalise_phone
from bot.rulebook import default_rulebook
from bot.store import help_requests, outbox
from bot.store.retention import RetentionPolicy
from bot.topics import category_for_text
from bot.vocabulary import CATEGORIES, RESIDENT_URGENCIES

log = logging.getLogger(__name__)

outbox.resume_pending()

NOT_NAME_INTENTS = {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "out_of_scope"}
QUESTION_MARKS = ("吗", "？", "?", "什么", "怎么", "咋", "多少", "能不能")
URGENCY_ZH = RESIDENT_URGENCIES


class ActionStartHelpRequest(Action):
    """Open the help-request form; the category defaults to the topic the resident was asking about."""

    def name(self) -> str:
        return "action_start_help_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        if tracker.get_slot("hr_confirm") is True:
            # A confirmed request whose save never answered: submit it again (the save is idempotent).
            return []
        events: list = [SlotSet("offered_check", None), SlotSet("hr_duplicate_of", None)]
        topic = tracker.get_slot("last_topic")
        if topic in CATEGORIES and not tracker.get_slot("hr_category"):
            events.append(SlotSet("hr_category", topic))
        if tracker.get_slot("district") and not tracker.get_slot("hr_place"):
            events.append(SlotSet("hr_place", tracker.get_slot("district")))
        return events


class ActionAskHrConsent(Action):
    """The notice before name and phone are asked (个人信息保护法): what is kept, why, how long, who sees it."""

    def name(self) -> str:
        return "action_ask_hr_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        dispatcher.utter_message(**say("hr_consent_notice", days=RetentionPolicy.from_env().closed_request_days))
        return []


_CONSENT_YES = ("同意", "愿意", "可以", "好", "行", "没问题", "登记吧")
_CONSENT_NO = ("不同意", "不愿意", "不要", "不行", "不用", "不登记", "算了")


def consent_answer(value: Any, text: str) -> bool | None:
    """True / False for a clear yes / no to the notice, None when the answer is neither."""
    words = text.strip(" 。，,.!！~啊呀吧").strip()
    if value is False or words.startswith(_CONSENT_NO):
        return False
    if value is True or words.startswith(_CONSENT_YES):
        return True
    return None


class ValidateHelpRequestForm(FormValidationAction):
    def name(self) -> str:
        return "validate_help_request_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        events = await super().run(dispatcher, tracker, domain)
        if any(e.get("event") == "slot" and e.get("name") == "hr_consent" and e.get("value") is False for e in events):
            # Declined: leave the form the way 「算了」 does; nothing was collected yet.
            events.append(FollowupAction("action_stop"))
        return events

    def validate_hr_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        answer = consent_answer(value, latest_text(tracker))
        if answer is None:
            dispatcher.utter_message(**message("hr_consent_again"))
            return {"hr_consent": None}
        if answer is False:
            dispatcher.utter_message(**message("hr_consent_declined"))
            return {"hr_consent": False, "requested_slot": None}
        return {"hr_consent": True}

    def validate_person_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        name = str(value or "").strip(" 。，,.!！").removeprefix("我叫").removeprefix("我是").strip()
        # 「你好」「对」 or a question said while the name is asked are not names.
        not_a_name = latest_intent(tracker) in NOT_NAME_INTENTS or any(w in name for w in QUESTION_MARKS)
        if not_a_name or not 1 <= len(name) <= 20 or any(ch.isdigit() for ch in name):
            dispatcher.utter_message(text=reask("person_name"))
            return {"person_name": None}
        return {"person_name": name}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        phone = normalise_phone(str(value or ""))
        if phone is None:
            dispatcher.utter_message(text=reask("phone", mobile_digits=MOBILE_DIGITS))
        return {"phone": phone}

    def validate_hr_place(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        rulebook = default_rulebook()
        found = [rulebook.normalise_district(str(e.get("value"))) for e in latest_entities(tracker, "district")]
        # the place is kept as said (「石门寨镇的」); its district comes from the district or township it names
        district = next((d for d in found if d), None) or district_of(text) or tracker.get_slot("district")
        if not district:
            dispatcher.utter_message(text=reask("hr_place"))
            return {"hr_place": None}
        return {"hr_place": text or district, "district": district}

    def validate_hr_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        category = value if value in CATEGORIES else category_for_text(str(value or ""))
        if category is None:
            dispatcher.utter_message(text=reask("hr_category"))
        return {"hr_category": category}

    def validate_hr_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if len(text) < 2:
            dispatcher.utter_message(text=reask("hr_description"))
            return {"hr_description": None}
        return {"hr_description": text[:2000]}

    def validate_hr_urgency(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return closed_choice("hr_urgency", value, URGENCY_ZH, parsing.parse_urgency, dispatcher, reask("hr_urgency"))

    def validate_hr_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        corrected = bool(
            {e.get("entity") for e in (tracker.latest_message or {}).get("entities", [])}
            & {"person_name", "phone", "district"}
        )
        return read_back_answer("hr_confirm", value, tracker, corrected, dispatcher, reask("hr_confirm"))


class ActionAskHrConfirm(Action):
    def name(self) -> str:
        return "action_ask_hr_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        get = tracker.get_slot
        dispatcher.utter_message(
            **say(
                "hr_read_back",
                name=get("person_name"),
                phone=mask_phone(get("phone") or ""),
                place=get("hr_place"),
                category=CATEGORIES.get(get("hr_category"), get("hr_category")),
                description=get("hr_description"),
                urgency=URGENCY_ZH.get(get("hr_urgency"), ""),
            )
        )
        return []


def request_data(tracker: Tracker) -> dict[str, Any]:
    get = tracker.get_slot
    snapshot = get("last_result") if isinstance(get("last_result"), dict) else None
    return {
        "sender_id": tracker.sender_id,
        "name": get("person_name"),
        "phone": get("phone"),
        "district": get("district") or district_of(get("hr_place") or ""),
        "township": get("hr_place"),
        "category": get("hr_category"),
        "description": get("hr_description"),
        "urgency": get("hr_urgency") or "normal",
        "decision_snapshot": snapshot,
        "entered_by": "resident",
        "consent": get("hr_consent") is True,
    }


def idempotency_key(tracker: Tracker, data: dict[str, Any]) -> str:
    """One key per submission: the conversation plus the moment the resident confirmed the read-back.

    A retried save of that submission (「重新提交」 after a fault, the action server restarted, the save
    parked in the outbox) carries the same confirmation event and so the same key: one record. Two
    genuine submissions with identical wording are two confirmations: two records. A tracker without the
    confirmation event (a unit test, an old conversation) falls back to the content.
    """
    stamp = None
    for event in reversed(tracker.events or []):  # the first "yes" since the read-back was last reset
        if event.get("event") == "slot" and event.get("name") == "hr_confirm":
            if event.get("value") is not True:
                break
            stamp = str(event.get("timestamp"))
    if stamp is None:
        stamp = "|".join(str(data.get(k) or "") for k in ("name", "phone", "category", "description"))
    return hashlib.sha256(f"{tracker.sender_id}|{stamp}".encode()).hexdigest()[:32]


def _clear_form() -> list:
    # the name too: the next request (perhaps by someone else at the same phone or kiosk) asks again
    return [
        SlotSet(s, None)
        for s in (
            "hr_place",
            "hr_category",
            "hr_description",
            "hr_urgency",
            "hr_confirm",
            "hr_duplicate_of",
            "person_name",
            "hr_consent",
        )
    ]


class ActionSubmitHelpRequest(Action):
    """Save the confirmed request; first offer to add to a similar one this conversation made lately."""

    def name(self) -> str:
        return "action_submit_help_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        data = request_data(tracker)
        try:
            duplicate = await _own_duplicate(data, tracker.sender_id)
            if duplicate and not tracker.get_slot("hr_duplicate_of"):
                dispatcher.utter_message(**say("hr_duplicate_offer", reference=duplicate["reference_no"]))
                return [SlotSet("hr_duplicate_of", duplicate["reference_no"])]
            return await save_new(dispatcher, tracker, data)
        except ValueError as error:
            dispatcher.utter_message(**say("hr_refused", error=error))
            return [SlotSet("hr_confirm", None)]
        except Exception:  # the resident must hear that nothing was saved
            log.exception("saving help request failed")
            dispatcher.utter_message(**message("hr_not_saved"))
            return []


async def _own_duplicate(data: dict[str, Any], sender_id: str) -> dict[str, Any] | None:
    """This conversation's similar recent request; None when the database cannot tell (the save that
    follows then parks the request: an offer is a convenience, the request is not)."""
    try:
        return await asyncio.to_thread(help_requests.find_duplicate, data["phone"], data["category"], sender_id)
    except ValueError:
        raise
    except Exception:  # noqa: BLE001 - the database cannot tell: no offer, the save that follows parks the request
        log.warning("duplicate check skipped: database unavailable")
        return None


async def save_new(dispatcher: CollectingDispatcher, tracker: Tracker, data: dict[str, Any]) -> list:
    """Save the request; if the database cannot take it now, park it durably in the outbox and tell the
    resident the number it will have, so a database fault never loses a confirmed request."""
    key = idempotency_key(tracker, data)
    try:
        record = await asyncio.to_thread(help_requests.create_request, data, actor="resident", idempotency_key=key)
        reference = record["reference_no"]
        saved_request()  # Prometheus: qhd_help_requests_saved_total
        dispatcher.utter_message(**say("hr_saved", reference=reference))
    except ValueError:
        raise
    except Exception:  # the database is unavailable: the outbox keeps the request
        log.exception("database unavailable while saving a help request: parking it in the outbox")
        help_requests.validate_request(data)
        reference = _parked_reference(tracker) or help_requests.reserve_reference()
        await asyncio.to_thread(outbox.park, key, reference, data, "resident")
        outbox.ensure_retrier()
        dispatcher.utter_message(**say("hr_parked", reference=reference))
    # The record keeps the phone; the conversation need not (staff screens mask transcripts anyway).
    return _clear_form() + [SlotSet("last_result", None), SlotSet("phone", None)]


def _parked_reference(tracker: Tracker) -> str | None:
    """The number already promised for this submission when a retried save parks it again."""
    key = idempotency_key(tracker, request_data(tracker))
    return next((e["reference_no"] for e in outbox.pending() if e["key"] == key), None)


async def resolve_duplicate(dispatcher: CollectingDispatcher, tracker: Tracker, add_to_existing: bool) -> list:
    """After the duplicate question: add to the existing request, or save a new one."""
    data = request_data(tracker)
    existing = tracker.get_slot("hr_duplicate_of")
    try:
        if add_to_existing and existing:
            await asyncio.to_thread(
                help_requests.add_to_request,
                existing,
                f"居民补充：{data['description']}",
                actor="resident",
                sender_id=tracker.sender_id,
            )
            dispatcher.utter_message(**say("hr_added", reference=existing))
            return _clear_form()
        return await save_new(dispatcher, tracker, data)
    except Exception:
        log.exception("resolving duplicate help request failed")
        dispatcher.utter_message(**message("hr_addition_not_saved"))
        return []


class ValidateStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_status_form"

    def validate_reference_no(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reference = find_reference(str(value or ""))
        if reference is None:
            dispatcher.utter_message(text=reask("reference_no"))
            return {"reference_no": None}
        return {"reference_no": reference}

    def validate_phone_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        digits = "".join(ch for ch in str(value or "") if ch.isdigit())
        if len(digits) < 4:
            dispatcher.utter_message(text=reask("phone_last4"))
            return {"phone_last4": None}
        return {"phone_last4": digits[-4:]}


def find_reference(text: str) -> str | None:
    """The reference number in what the resident said (any case or spacing), None if there is none or its
    check symbol is wrong."""
    found = find_reference_numbers(text)
    return help_requests.normalise_reference(found[0].value) if found else None


def client_address(tracker: Tracker) -> str | None:
    """The client address the channel recorded in the message metadata (web widget), if any."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    address = metadata.get("client_address") if isinstance(metadata, dict) else None
    return str(address)[:64] if address else None


class ActionCheckRequestStatus(Action):
    """Status for a reference number, only when the phone's last four digits match too."""

    def name(self) -> str:
        return "action_check_request_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        reference, last4 = tracker.get_slot("reference_no"), tracker.get_slot("phone_last4")
        try:
            status = await asyncio.to_thread(
                help_requests.status_for_resident, reference, last4, tracker.sender_id, client_address(tracker)
            )
        except help_requests.LookupThrottled as throttled:
            dispatcher.utter_message(text=f"{throttled}。")
            return [SlotSet("reference_no", None), SlotSet("phone_last4", None)]
        except Exception:
            log.exception("status lookup failed")
            dispatcher.utter_message(**message("status_unavailable"))
            return [SlotSet("phone_last4", None)]
        if status is None:
            dispatcher.utter_message(**message("status_not_found"))
        else:
            updated = str(status.get("updated_at") or "")[:16].replace("T", " ")
            shown = status.get("status_zh") or status["status"]
            dispatcher.utter_message(
                **say("status_found", reference=status["reference_no"], status=shown, updated=updated)
            )
        return [SlotSet("reference_no", None), SlotSet("phone_last4", None)]
