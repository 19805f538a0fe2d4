"""Custom actions (rasa_sdk): thin doors onto bot.eligibility, bot.answers and bot.store.

Importing the package changes nothing. The action server is started by `python -m bot.action_server`,
which masks phone and ID numbers in every log line it writes (the help-request record is the only place
a resident's full phone number is kept) and counts action runs for Prometheus.
"""
