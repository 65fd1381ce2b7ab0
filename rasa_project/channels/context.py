"""What a channel needs to know of the server it is served by."""

from __future__ import annotations

from dataclasses import dataclass

from ldn_bot.exposure import Exposure
from ldn_bot.senders import SessionSigner
from ldn_bot.settings import Settings
from ldn_bot.slack import SlackConfig


@dataclass(frozen=True)
class ChannelContext:
    """The server's settings a channel may read when `serve` builds it.

    Attributes:
        cfg: the run's settings.
        exposure: what the server exposes, and to whom.
        signer: issues and checks the web sessions' ids (keyed by the ledger salt).
        slack: the Slack app's settings, or None when Slack is off.
    """

    cfg: Settings
    exposure: Exposure
    signer: SessionSigner
    slack: SlackConfig | None
