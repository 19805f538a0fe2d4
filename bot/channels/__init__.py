"""Rasa input channels of this assistant (rest.GuardedRestInput, socketio.BoundSocketIOInput).

Rasa imports this package when it reads credentials.yml (before it builds its HTTP routes), so the Rasa
process also gets here: the action-call speed-up of bot.rasa_speedups, the Bearer-header auth of its
HTTP API (bot.channels.api_auth), and the secrets check (a Rasa with a published or missing secret
refuses to start, like every other process).
"""
from bot import rasa_speedups
from bot.channels import api_auth
from bot.settings import settings

rasa_speedups.install()
api_auth.install()
settings()
