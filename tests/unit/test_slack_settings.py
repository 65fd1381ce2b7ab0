"""Slack's settings: the environment variables that switch the channel on (all or none),
the public address its source links use, and the app manifest an admin installs from."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse

import pytest
import yaml

from ldn_bot.settings import Settings
from ldn_bot.slack import WEBHOOK_PATH, SlackConfig, SlackConfigError, public_base

# --- settings ---------------------------------------------------------------------------


def test_slack_is_off_without_variables() -> None:
    assert SlackConfig.from_env({}) is None


def test_slack_settings_from_the_environment() -> None:
    config = SlackConfig.from_env(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_CHANNEL": "C1"}
    )
    assert config == SlackConfig(bot_token="xoxb-1", signing_secret="s", channel="C1")


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN is not"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": " "}, "SLACK_SIGNING_SECRET is not"),
        ({"SLACK_CHANNEL": "C1"}, "SLACK_CHANNEL is set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user", "SLACK_SIGNING_SECRET": "s"}, "xoxb-"),
    ],
)
def test_half_set_slack_settings_say_what_is_missing(environ: dict, says: str) -> None:
    with pytest.raises(SlackConfigError, match=says):
        SlackConfig.from_env(environ)


def test_serve_with_half_set_slack_exits_with_a_message_not_a_traceback(cfg: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    result = subprocess.run(
        [sys.executable, "-m", "rasa_project", "serve", "--port", "1"],
        cwd=cfg.root,
        env={**env, "SLACK_BOT_TOKEN": "xoxb-only-the-token"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "SLACK_SIGNING_SECRET is not" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# --- the public address for source links ---------------------------------------------------


def test_the_public_address_for_links_comes_from_the_environment() -> None:
    config = SlackConfig.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s",
            "LDN_BOT_PUBLIC_URL": " https://bot.example.org/ ",
        }
    )
    assert config is not None and config.public_url == "https://bot.example.org"
    assert public_base(None) is None and public_base("") is None


@pytest.mark.parametrize(
    "url",
    ["bot.example.org", "ftp://bot.example", "https://bot.example/|x", "https://a>b", "https://"],
)
def test_a_public_address_that_would_break_a_link_is_refused(url: str) -> None:
    with pytest.raises(SlackConfigError, match="public address"):
        public_base(url)


# --- the app manifest an admin installs from ------------------------------------------------


def test_the_manifest_subscribes_to_exactly_what_the_webhook_answers(cfg: Settings) -> None:
    manifest = yaml.safe_load((cfg.root / "rasa_project" / "slack_manifest.yml").read_text())
    settings = manifest["settings"]
    for url in (
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ):
        assert urllib.parse.urlparse(url).scheme == "https"
        assert urllib.parse.urlparse(url).path == WEBHOOK_PATH
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read",
        "im:history",
        "chat:write",
    }
    assert 174 <= len(manifest["display_information"]["long_description"]) <= 4000
    assert settings["socket_mode_enabled"] is False
