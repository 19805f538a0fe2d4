"""The assistant's own database: help requests, notes, audit, accounts, handoff states, eligibility checks.

See bot/store/db.py for engines and migrations; import the submodules you need (help_requests, conversations,
checks, accounts).
"""
