"""The channel registry: what `serve` runs, and what a stock `rasa run` reads, agree."""

from __future__ import annotations

import importlib

import yaml

from ldn_bot.exposure import exposure_from
from ldn_bot.senders import SessionSigner
from ldn_bot.settings import PROJECT_ROOT, Settings
from rasa_project.channels import SERVED, RestInput, SocketIOInput
from rasa_project.channels.context import ChannelContext
from rasa_project.channels.registration import served_channels
from rasa_project.channels.socketio import SOCKETIO_SETTINGS


def _context(cfg: Settings) -> ChannelContext:
    exposure = exposure_from(host="127.0.0.1", environ={}, port=5005)
    return ChannelContext(cfg=cfg, exposure=exposure, signer=SessionSigner("salt"), slack=None)


def test_credentials_name_only_channels_serve_registers(cfg: Settings) -> None:
    credentials = yaml.safe_load((PROJECT_ROOT / "rasa_project" / "credentials.yml").read_text())
    served = {type(channel) for channel in served_channels(_context(cfg))}
    for path, settings in credentials.items():
        module, _, name = path.rpartition(".")
        channel_class = getattr(importlib.import_module(module), name)
        assert channel_class in served, f"{path} is in credentials.yml but not in SERVED"
        if channel_class is SocketIOInput:
            assert settings == SOCKETIO_SETTINGS


def test_serve_runs_rest_and_socketio_and_slack_only_when_configured(cfg: Settings) -> None:
    channels = served_channels(_context(cfg))
    assert [type(channel) for channel in channels] == [RestInput, SocketIOInput]
    socketio = channels[1]
    assert isinstance(socketio, SocketIOInput) and socketio.session_signer is not None
    assert len(SERVED) == 3  # REST, socket.io, Slack (off without its settings)


def test_forget_knows_every_served_channel() -> None:
    """`ldn-bot forget BARE_ID` looks in each channel's namespace (`ldn_bot.senders`): a
    channel registered in SERVED but unknown there would keep its conversations."""
    from ldn_bot.senders import CHANNELS
    from rasa_project.channels.slack import SlackInput

    names = {served.__module__.rpartition(".")[2] for served in SERVED}
    assert names == set(CHANNELS)
    assert {RestInput.name(), SocketIOInput.name(), SlackInput.name()} == set(CHANNELS)
