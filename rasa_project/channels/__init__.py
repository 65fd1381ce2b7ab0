"""Input channels of our own (subclasses of Rasa's, with fixes)."""

from rasa_project.channels.rest import RestInput
from rasa_project.channels.socketio import SocketIOInput

__all__ = ["RestInput", "SocketIOInput"]
