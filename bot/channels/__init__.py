"""Rasa input channels of this assistant (rest.GuardedRestInput, socketio.BoundSocketIOInput).

Importing the package changes nothing. When Rasa starts serving a channel it asks for the channel's
blueprint; both blueprints go through bot.channels.guard.never_silent, which is where the Rasa process
gets its start-up: masked logs and the metrics port. What must happen before Rasa builds its HTTP API
(the secrets check, the Bearer-header auth) runs in the channels' constructors (bot.channels.startup).
"""
