"""Rasa input channels of this assistant (rest.GuardedRestInput, socketio.BoundSocketIOInput).

Rasa imports this package when it reads credentials.yml, so the Rasa process also gets the
action-call speed-up of bot.rasa_speedups here.
"""
from bot import rasa_speedups

rasa_speedups.install()
