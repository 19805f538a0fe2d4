"""Help-request categories, statuses and urgencies (named in bot.vocabulary), and the request workflow.

The names and labels are the assistant's shared vocabulary (bot.vocabulary); this module adds what only
the store decides: which status may follow which.
"""

from __future__ import annotations

from bot.vocabulary import CATEGORIES, CONVERSATION_STATES, ROLES, STATUSES, URGENCIES, category_label

# The store's callers (help_requests, accounts, conversations, the CLI) import the names from here.
__all__ = ["CATEGORIES", "CONVERSATION_STATES", "ROLES", "STATUSES", "TRANSITIONS", "URGENCIES", "category_label"]

# The request workflow: new -> in_progress -> resolved | referred. Terminal states have no way out.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"in_progress"}),
    "in_progress": frozenset({"resolved", "referred"}),
    "resolved": frozenset(),
    "referred": frozenset(),
}
