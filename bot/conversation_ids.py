"""Conversation ids: who may name which conversation.

The web widget's ids are minted by the web app (WIDGET_PREFIX + 32 random hex digits) and travel only in
its signed cookie and in the widget's socket token. Integrators on the REST webhook choose their own ids
but may never use the widget's prefix, so a REST caller can never continue (or read back) a widget
conversation.
"""

from __future__ import annotations

import secrets

WIDGET_PREFIX = "web-"
MAX_SENDER_CHARS = 128


def new_widget_id() -> str:
    return WIDGET_PREFIX + secrets.token_hex(16)


def is_widget_id(sender_id: str) -> bool:
    return sender_id.strip().lower().startswith(WIDGET_PREFIX)
