"""Who answers a conversation: the bot, nobody yet (waiting for a human) or an operator.

Why a table of our own: Rasa's tracker knows a conversation is paused, but not who took it over or why;
the operator console lists waiting conversations from here. Every change is audited (handoffs are
something staff are asked about afterwards).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.privacy import mask_text
from bot.store.categories import CONVERSATION_STATES
from bot.store.common import clean_text, iso, utcnow, write_audit
from bot.store.db import session_scope
from bot.store.models import ConversationState


def _record(row: ConversationState) -> dict[str, Any]:
    return {
        "sender_id": row.sender_id,
        "state": row.state,
        "state_zh": CONVERSATION_STATES.get(row.state, row.state),
        "operator": row.operator,
        "reason": row.reason,
        "updated_at": iso(row.updated_at),
    }


def set_state(
    sender_id: str, state: str, operator: str | None = None, reason: str | None = None, url: str | None = None
) -> dict[str, Any]:
    """Record that `sender_id` is now answered by the bot, waiting for a human, or handled by `operator`
    (required for state 'operator'). The reason is stored with phone / ID numbers masked."""
    sender_id = clean_text(sender_id, "会话编号", 255)
    if state not in CONVERSATION_STATES:
        raise ValueError("会话状态只能是：" + "、".join(f"{k}（{v}）" for k, v in CONVERSATION_STATES.items()))
    operator = clean_text(operator, "话务员", 64, required=False)
    if state == "operator" and operator is None:
        raise ValueError("人工接管时必须指明接管的话务员")
    actor = operator or "system"  # who made the change, kept for the audit even when handing back to the bot
    if state == "bot":
        operator = None
    reason_text = clean_text(reason, "转人工原因", 255, required=False)
    reason_text = mask_text(reason_text) if reason_text else None
    for attempt in range(2):
        try:
            with session_scope(url) as session:
                row = session.get(ConversationState, sender_id, with_for_update=True)
                previous = row.state if row is not None else None
                if row is None:
                    row = ConversationState(sender_id=sender_id)
                    session.add(row)
                row.state, row.operator, row.reason, row.updated_at = state, operator, reason_text, utcnow()
                write_audit(session, actor, "handoff", None, {"sender_id": sender_id, "from": previous, "to": state})
                session.flush()
                return _record(row)
        except IntegrityError:  # two first writes for the same sender at once: the second updates
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def get_state(sender_id: str, url: str | None = None) -> dict[str, Any] | None:
    """The conversation's state, or None when it was never handed over (i.e. the bot answers)."""
    with session_scope(url) as session:
        row = session.get(ConversationState, sender_id)
        return _record(row) if row is not None else None


def list_states(state: str | None = None, url: str | None = None) -> list[dict[str, Any]]:
    """All recorded conversation states (optionally only one state), most recently changed first."""
    if state is not None and state not in CONVERSATION_STATES:
        raise ValueError("未知的会话状态：" + str(state))
    query = sa.select(ConversationState).order_by(ConversationState.updated_at.desc())
    if state is not None:
        query = query.where(ConversationState.state == state)
    with session_scope(url) as session:
        return [_record(row) for row in session.execute(query).scalars()]
