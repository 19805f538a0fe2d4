"""Rasa input channels of this assistant (rest.GuardedRestInput, socketio.BoundSocketIOInput).

Importing the package changes nothing. When Rasa starts serving a channel it asks for the channel's
blueprint; both blueprints go through bot.channels.guard.never_silent, which is where the Rasa process
gets its start-up: masked logs, the metrics port and the action-call speed-up of bot.rasa_speedups.
"""
