"""Custom actions (rasa_sdk): thin doors onto bot.eligibility, bot.answers and bot.store.

Importing the package masks phone and ID numbers in every log line the action server writes: the
help-request record is the only place a resident's full phone number is kept.
"""
import logging

from bot.privacy import MaskingLogFilter

for _handler in logging.getLogger().handlers or []:
    _handler.addFilter(MaskingLogFilter())
logging.getLogger().addFilter(MaskingLogFilter())

# Action errors, fallbacks and handoffs counted for Prometheus; metrics port and JSON logs when configured.
from bot.metrics import instrument_action_server  # noqa: E402

instrument_action_server()
