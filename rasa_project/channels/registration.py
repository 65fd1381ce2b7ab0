"""Where every channel's messages pass on their way to the agent (`serve` only)."""

from __future__ import annotations

from urllib.parse import urljoin

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Sanic

from ldn_bot.payloads import as_sent, button_payloads
from ldn_bot.senders import namespaced
from rasa_project.channels import SERVED
from rasa_project.channels.context import ChannelContext


def served_channels(context: ChannelContext) -> list[InputChannel]:
    """The channels `serve` runs (`rasa_project.channels.SERVED`), those that are on."""
    return [channel for served in SERVED if (channel := served(context)) is not None]


def register(input_channels: list[InputChannel], app: Sanic) -> None:
    """Rasa's `channels.channel.register`, with each message's sender id put in the
    namespace of the channel it came from (`rest:alice`): the one place every channel's
    messages pass, whatever id a client sends. There too, a typed `/intent` that is not
    one of our buttons' payloads is read as words (`ldn_bot.payloads`: `/back` rewound
    the conversation)."""
    for channel in input_channels:

        async def handler(message: UserMessage, channel_name: str = channel.name()) -> None:
            sender_id = message.sender_id
            message.sender_id = namespaced(channel_name, sender_id)
            if message.text:
                message.text = as_sent(message.text, _payloads(app))
            await app.ctx.agent.handle_message(message)
            if isinstance(message.output_channel, CollectingOutputChannel):
                # REST answers carry `recipient_id`: the id the client sent, as before.
                for reply in message.output_channel.messages:
                    reply["recipient_id"] = sender_id

        prefix = urljoin("/webhooks/", channel.url_prefix())
        app.blueprint(channel.blueprint(handler), url_prefix=prefix)
    app.ctx.input_channels = input_channels


def _payloads(app: Sanic) -> frozenset[str]:
    """The `/` payloads the agent's domain's buttons send (read once per domain)."""
    domain = app.ctx.agent.domain
    cached = getattr(app.ctx, "payloads", None)
    if cached is None or cached[0] is not domain:
        cached = (domain, button_payloads(domain.responses if domain else {}))
        app.ctx.payloads = cached
    return cached[1]
