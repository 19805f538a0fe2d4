"""Rasa input channels of this assistant (see socketio.BoundSocketIOInput)."""
