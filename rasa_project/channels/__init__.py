"""Input channels of our own (subclasses of Rasa's, with fixes), and which `serve` runs.

Adding a channel: a module here with the channel and its `served(context)` function
(the channel as `serve` runs it, or None when it is off), and one line in `SERVED`.
`credentials.yml` names the ones a stock `rasa run` starts (a test keeps the two in step).
"""

from rasa_project.channels import rest, slack, socketio
from rasa_project.channels.rest import RestInput
from rasa_project.channels.socketio import SocketIOInput

SERVED = (rest.served, socketio.served, slack.served)

__all__ = ["SERVED", "RestInput", "SocketIOInput"]
