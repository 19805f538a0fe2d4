"""The qhd_learning_items table: captured turns, 👍/👎 votes, operator flags and their review labels.

Everything stored is masked (bot.privacy.mask_text) before it reaches a row. Labelling is audited in
the same transaction (bot.store.common.write_audit).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.learning.rules import REVIEW_SOURCES, Turn, normalise, similar, turn_at
from bot.privacy import mask_text
from bot.store.common import clean_text, iso, utcnow, write_audit
from bot.store.db import session_scope
from bot.store.models import LearningItem

# A resident's votes per conversation, and operator flags per conversation: enough for any honest use,
# small enough that a script cannot fill the table through one conversation.
MAX_VOTES_PER_CONVERSATION = 100
MAX_FLAGS_PER_CONVERSATION = 100
OUT_OF_SCOPE = "out_of_scope"
UNCOVERED = "uncovered"  # "a topic we do not cover yet": kept with its note, never exported


class FeedbackRefused(ValueError):
    """The vote cannot be recorded; `message_zh` says why (shown to the resident), `status` is HTTP."""

    def __init__(self, message_zh: str, status: int = 400) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.status = status


def item_record(row: LearningItem) -> dict[str, Any]:
    return {
        "id": row.id,
        "sender_id": row.sender_id,
        "source": row.source,
        "event_ts": row.event_ts,
        "text": row.text,
        "group_key": row.group_key,
        "intent": row.intent,
        "confidence": row.confidence,
        "margin": row.margin,
        "bot_reply": row.bot_reply,
        "context": row.context or [],
        "reason": row.reason,
        "status": row.status,
        "label": row.label,
        "label_note": row.label_note,
        "hard": bool(row.hard),
        "reviewed_by": row.reviewed_by,
        "reviewed_at": iso(row.reviewed_at),
        "created_at": iso(row.created_at),
    }


def _row(sender_id: str, source: str, turn: Turn, event_ts: float, reason: str | None = None) -> LearningItem:
    return LearningItem(
        sender_id=sender_id[:255],
        source=source,
        event_ts=event_ts,
        text=turn.text[:2000],
        group_key=normalise(turn.text),
        intent=turn.intent,
        confidence=turn.confidence,
        margin=turn.margin,
        bot_reply=turn.bot_reply,
        context=turn.context,
        reason=mask_text(reason)[:255] if reason else None,
        status="open",
        hard=False,
        created_at=utcnow(),
    )


def record_turn(sender_id: str, turn: Turn, reasons: Sequence[str], url: str | None = None) -> int:
    """Store one row per capture reason; a turn already stored for that reason is skipped. Returns the
    number of new rows."""
    added = 0
    for source in reasons:
        try:
            with session_scope(url) as session:
                session.add(_row(sender_id, source, turn, turn.event_ts))
            added += 1
        except IntegrityError:
            continue  # the same turn captured twice (a retried message): keep the first
    return added


def _user_index_before(events: Sequence[dict], index: int) -> int | None:
    return next((i for i in range(index - 1, -1, -1) if events[i].get("event") == "user"), None)


def find_bot_message(events: Sequence[dict], shown_text: str) -> int | None:
    """Index of the latest bot event (not an operator's) whose text contains what the widget showed.

    socket.io splits a long answer at blank lines, so one shown bubble may be part of one event's text;
    both sides are compared masked and normalised."""
    wanted = normalise(mask_text(shown_text))
    if not wanted:
        return None
    for i in range(len(events) - 1, -1, -1):
        ev = events[i]
        if ev.get("event") != "bot" or not ev.get("text") or (ev.get("metadata") or {}).get("operator"):
            continue
        if wanted in normalise(mask_text(str(ev["text"]))):
            return i
    return None


def record_vote(
    sender_id: str,
    events: Sequence[dict],
    shown_text: str,
    vote: str,
    reason: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """A resident's 👍 ('up') or 👎 ('down') on one bot answer of their own conversation (`events` is that
    conversation's tracker). One vote per answer: voting again replaces the earlier vote."""
    if vote not in ("up", "down"):
        raise FeedbackRefused("评价只能是 👍 或 👎。")
    reason = clean_text(reason, "原因", 200, required=False)
    bot_index = find_bot_message(events, shown_text)
    if bot_index is None:
        raise FeedbackRefused("没有找到这条回答，无法评价。", 404)
    user_index = _user_index_before(events, bot_index)
    if user_index is None:
        raise FeedbackRefused("这条回答之前没有您的提问，无需评价。", 404)
    turn = turn_at(events, user_index)
    bot_ts = float(events[bot_index].get("timestamp") or 0.0)
    source = "thumbs_down" if vote == "down" else "thumbs_up"
    answer = mask_text(str(events[bot_index]["text"]))[:2000]
    with session_scope(url) as session:
        votes = sa.select(LearningItem).where(
            LearningItem.sender_id == sender_id, LearningItem.source.in_(("thumbs_up", "thumbs_down"))
        )
        existing = list(session.execute(votes).scalars())
        for row in existing:
            if row.event_ts == bot_ts:
                session.delete(row)  # the resident changed their mind: the new vote replaces the old one
        if len([r for r in existing if r.event_ts != bot_ts]) >= MAX_VOTES_PER_CONVERSATION:
            raise FeedbackRefused("这个对话的评价次数已达上限，谢谢您的反馈。", 429)
        session.flush()
        row = _row(sender_id, source, turn, bot_ts, reason)
        row.bot_reply = answer
        session.add(row)
        session.flush()
        return item_record(row)


def record_flag(
    sender_id: str,
    events: Sequence[dict],
    user_ts: float,
    operator: str,
    note: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """An operator says the assistant got the user message at `user_ts` wrong."""
    note = clean_text(note, "说明", 200, required=False)
    index = next(
        (
            i
            for i, ev in enumerate(events)
            if ev.get("event") == "user" and abs(float(ev.get("timestamp") or 0) - user_ts) < 1e-3
        ),
        None,
    )
    if index is None:
        raise FeedbackRefused("没有找到这条消息。", 404)
    turn = turn_at(events, index)
    with session_scope(url) as session:
        count = session.execute(
            sa.select(sa.func.count())
            .select_from(LearningItem)
            .where(LearningItem.sender_id == sender_id, LearningItem.source == "operator_flag")
        ).scalar_one()
        if count >= MAX_FLAGS_PER_CONVERSATION:
            raise FeedbackRefused("这个对话的标记次数已达上限。", 429)
        existing = session.execute(
            sa.select(LearningItem).where(
                LearningItem.sender_id == sender_id,
                LearningItem.source == "operator_flag",
                LearningItem.event_ts == turn.event_ts,
            )
        ).scalar_one_or_none()
        if existing is not None:
            return item_record(existing)
        row = _row(sender_id, "operator_flag", turn, turn.event_ts, note)
        session.add(row)
        write_audit(
            session, f"operator:{operator}", "learning_flag", None, {"sender_id": sender_id, "event_ts": turn.event_ts}
        )
        session.flush()
        return item_record(row)


def open_items(limit: int = 2000, url: str | None = None) -> list[dict[str, Any]]:
    """Open items to review (never 👍 votes), newest first."""
    query = (
        sa.select(LearningItem)
        .where(LearningItem.status == "open", LearningItem.source.in_(REVIEW_SOURCES))
        .order_by(LearningItem.id.desc())
        .limit(limit)
    )
    with session_scope(url) as session:
        return [item_record(r) for r in session.execute(query).scalars()]


def items_by_ids(ids: Sequence[int], url: str | None = None) -> list[dict[str, Any]]:
    with session_scope(url) as session:
        rows = session.execute(sa.select(LearningItem).where(LearningItem.id.in_(list(ids)))).scalars()
        return [item_record(r) for r in rows]


def label_group(
    ids: Sequence[int],
    label: str,
    actor: str,
    allowed_labels: Sequence[str],
    note: str | None = None,
    hard: bool = False,
    url: str | None = None,
) -> int:
    """Label open items (one inbox group) and mark them done; every open item whose text is near-identical
    to one of them is labelled too (so a group shown once is done once). Audited. Returns rows changed."""
    if label not in set(allowed_labels) | {OUT_OF_SCOPE, UNCOVERED}:
        raise ValueError("请选择正确的意图，或“不在服务范围”“暂未覆盖的话题”。")
    note = clean_text(note, "说明", 200, required=False)
    if label == UNCOVERED and not note:
        raise ValueError("“暂未覆盖的话题”请写一句说明（是什么话题）。")
    ids = [int(i) for i in ids][:500]
    if not ids:
        raise ValueError("没有选中要标注的消息。")
    now = utcnow()
    with session_scope(url) as session:
        chosen = list(session.execute(sa.select(LearningItem).where(LearningItem.id.in_(ids))).scalars())
        keys = {r.group_key for r in chosen}
        open_rows = session.execute(
            sa.select(LearningItem).where(LearningItem.status == "open", LearningItem.source.in_(REVIEW_SOURCES))
        ).scalars()
        rows = {r.id: r for r in chosen if r.status == "open"}
        for r in open_rows:
            if any(similar(r.group_key, k) for k in keys):
                rows[r.id] = r
        for r in rows.values():
            r.status, r.label, r.label_note, r.hard = "done", label, mask_text(note) if note else None, bool(hard)
            r.reviewed_by, r.reviewed_at = actor, now
        write_audit(
            session,
            actor,
            "learning_label",
            None,
            {"ids": sorted(rows)[:100], "count": len(rows), "label": label, "hard": bool(hard)},
        )
        return len(rows)


def labelled_items(url: str | None = None) -> list[dict[str, Any]]:
    """Every reviewed item with an exportable label (an intent or out_of_scope), oldest first."""
    query = (
        sa.select(LearningItem)
        .where(LearningItem.status == "done", LearningItem.label.is_not(None), LearningItem.label != UNCOVERED)
        .order_by(LearningItem.id)
    )
    with session_scope(url) as session:
        return [item_record(r) for r in session.execute(query).scalars()]


def votes_since(since: datetime, url: str | None = None) -> list[dict[str, Any]]:
    """👍/👎 rows created since `since` (naive UTC): [{source, intent, created_at}] for analytics."""
    query = sa.select(LearningItem.source, LearningItem.intent, LearningItem.created_at).where(
        LearningItem.source.in_(("thumbs_up", "thumbs_down")), LearningItem.created_at >= since
    )
    with session_scope(url) as session:
        return [{"source": s, "intent": i, "created_at": c} for s, i, c in session.execute(query)]
