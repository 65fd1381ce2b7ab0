"""Input channels of our own (subclasses of Rasa's, with fixes)."""

from rasa_project.channels.socketio import SocketIOInput

__all__ = ["SocketIOInput"]
