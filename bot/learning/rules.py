"""Which turns are worth a human look, and how near-identical messages group together.

Pure functions over Rasa tracker events (dicts as in GET /conversations/<id>/tracker), so the rules are
tested without a running Rasa and the capture hook stays a thin door.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from bot.privacy import mask_text
from bot.settings import DEFAULTS, env_settings

FALLBACK_INTENT = "nlu_fallback"
CLARIFY_ACTION = "action_clarify"
HANDOFF_ACTION = "action_handoff"
# A parse whose top-1 minus top-2 confidence is below this is captured even when no fallback fired.
DEFAULT_MARGIN = DEFAULTS.learn_margin
CONTEXT_TURNS = 6
# Sources: why a row exists. Only 'thumbs_up' is not something to review.
SOURCES_ZH = {
    "fallback": "没听懂（兜底）",
    "clarify": "请居民澄清",
    "low_margin": "把握不大",
    "handoff": "转人工",
    "thumbs_down": "居民点了「没帮助」",
    "operator_flag": "话务员标记答错",
    "thumbs_up": "居民点了「有帮助」",
}
REVIEW_SOURCES = tuple(s for s in SOURCES_ZH if s != "thumbs_up")


def margin_setting() -> float:
    """LEARN_MARGIN (bot.settings) within 0..1, DEFAULT_MARGIN when unset or not a number."""
    return min(max(env_settings().learn_margin, 0.0), 1.0)


@dataclass(frozen=True)
class Turn:
    """The last user message of a tracker and what the bot did about it (text already masked)."""

    text: str
    event_ts: float
    intent: str | None
    confidence: float | None
    margin: float | None
    actions: tuple[str, ...]
    bot_reply: str
    context: list[dict] = field(default_factory=list)
    in_form: bool = False  # a form was asking a question when the message came


def _ranking(parse: dict) -> list[dict]:
    return [r for r in parse.get("intent_ranking") or [] if isinstance(r, dict) and r.get("name") != FALLBACK_INTENT]


def margin_of(parse: dict) -> float | None:
    """Top-1 minus top-2 confidence among real intents (nlu_fallback left out); None with fewer than two."""
    ranking = _ranking(parse)
    if len(ranking) < 2:
        return None
    return float(ranking[0].get("confidence") or 0.0) - float(ranking[1].get("confidence") or 0.0)


def _context(events: Sequence[dict], upto: int) -> list[dict]:
    """The turns before the captured message, masked: [{role, text}] (at most CONTEXT_TURNS)."""
    out: list[dict] = []
    for ev in events[:upto]:
        if ev.get("event") == "user" and ev.get("text"):
            out.append({"role": "user", "text": mask_text(str(ev["text"]))})
        elif ev.get("event") == "bot" and ev.get("text"):
            role = "operator" if (ev.get("metadata") or {}).get("operator") else "bot"
            out.append({"role": role, "text": mask_text(str(ev["text"]))})
    return out[-CONTEXT_TURNS:]


def last_turn(events: Sequence[dict]) -> Turn | None:
    """The latest user message and what followed it; None when there is no user message."""
    index = next((i for i in range(len(events) - 1, -1, -1) if events[i].get("event") == "user"), None)
    if index is None:
        return None
    return turn_at(events, index)


def turn_at(events: Sequence[dict], index: int) -> Turn:
    """The user message at `index` of `events` and the actions and bot texts up to the next user message."""
    user = events[index]
    parse = user.get("parse_data") or {}
    intent = parse.get("intent") or {}
    actions: list[str] = []
    replies: list[str] = []
    for ev in events[index + 1 :]:
        if ev.get("event") == "user":
            break
        if ev.get("event") == "action" and ev.get("name"):
            actions.append(str(ev["name"]))
        elif ev.get("event") == "bot" and ev.get("text"):
            replies.append(str(ev["text"]))
    confidence = intent.get("confidence")
    loops = [ev.get("name") for ev in events[:index] if ev.get("event") == "active_loop"]
    return Turn(
        text=mask_text(str(user.get("text") or "")),
        event_ts=float(user.get("timestamp") or 0.0),
        intent=intent.get("name"),
        confidence=float(confidence) if confidence is not None else None,
        margin=margin_of(parse),
        actions=tuple(actions),
        bot_reply=mask_text("\n".join(replies))[:2000],
        context=_context(events, index),
        in_form=bool(loops and loops[-1]),
    )


def capture_reasons(turn: Turn, margin_threshold: float) -> list[str]:
    """Why this turn deserves review ([] = it does not). A button payload ('/affirm') is never captured:
    the resident clicked what we offered, there is nothing to learn from its wording. Inside a form a
    close race between intents is normal (a name or a number answers the question whatever its intent),
    so there only fallback, clarification and handoff count."""
    if not turn.text.strip() or turn.text.startswith("/"):
        return []
    reasons = []
    if turn.intent == FALLBACK_INTENT:
        reasons.append("fallback")
    if CLARIFY_ACTION in turn.actions:
        reasons.append("clarify")
    if (
        turn.margin is not None
        and turn.margin < margin_threshold
        and turn.intent != FALLBACK_INTENT
        and not turn.in_form
    ):
        reasons.append("low_margin")
    if HANDOFF_ACTION in turn.actions:
        reasons.append("handoff")
    return reasons


# ------------------------------------------------------------------------------------------ grouping
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_DIGIT = re.compile(r"[0-9*]")
SIMILARITY = 0.85


def normalise(text: str) -> str:
    """Group key: NFKC (full-width to ASCII), lower case, every digit or mask star as '#', punctuation
    and whitespace removed. '我家3口人，低保多少？' and '我家 4 口人低保多少' share a key."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _NOT_WORD.sub("", _DIGIT.sub("0", text))  # '0' is a word character: it survives the strip
    return text.replace("0", "#")[:255]


def similar(a: str, b: str, threshold: float = SIMILARITY) -> bool:
    """Cheap near-duplicate test on group keys (difflib ratio); exact keys are always similar."""
    if a == b:
        return True
    if not a or not b or min(len(a), len(b)) / max(len(a), len(b)) < threshold:
        return False
    return SequenceMatcher(None, a, b).ratio() >= threshold


@dataclass
class Group:
    """Near-identical open messages shown as one inbox row."""

    key: str
    items: list[dict] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How often the message occurred: one per conversation and wording (a turn captured for two
        reasons, e.g. fallback and clarify, or later voted 👎, counts once)."""
        return len({(i["sender_id"], i["text"]) for i in self.items})

    @property
    def sample(self) -> dict:
        return self.items[0]

    @property
    def sources(self) -> list[str]:
        return sorted({i["source"] for i in self.items})

    @property
    def conversations(self) -> int:
        return len({i["sender_id"] for i in self.items})


def group_items(items: Iterable[dict], threshold: float = SIMILARITY) -> list[Group]:
    """Group items (dicts with 'group_key', 'source', 'sender_id') by exact key, then merge keys that are
    near-identical to an earlier, more frequent group. Sorted by size, largest first."""
    by_key: dict[str, Group] = {}
    for item in items:
        by_key.setdefault(item["group_key"], Group(item["group_key"])).items.append(item)
    merged: list[Group] = []
    for group in sorted(by_key.values(), key=lambda g: (-g.count, g.key)):
        target = next((m for m in merged if similar(m.key, group.key, threshold)), None)
        if target is None:
            merged.append(group)
        else:
            target.items.extend(group.items)
    return sorted(merged, key=lambda g: (-g.count, g.key))
