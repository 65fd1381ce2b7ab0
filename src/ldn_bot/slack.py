"""Slack, framework-free: settings from the environment, which events get an answer,
where the answer goes, and mrkdwn formatting (de-duplication of Slack's retries is
`ldn_bot.slack_events`).

The Rasa channel (`rasa_project/channels/slack.py`) is a thin adapter around these.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ldn_bot.knowledge.article import Article
from ldn_bot.knowledge.sources import linked_source

logger = logging.getLogger(__name__)

SLACK_API_URL = "https://slack.com/api/"
WEBHOOK_PATH = "/webhooks/slack/webhook"

# The paragraph of a reply that carries its citation (see `utter_article_answer`).
CITATION_MARK = "📄"
# Slack: a section's text holds at most 3,000 characters, a message 50 blocks.
_SECTION_LIMIT = 3000
_MAX_BLOCKS = 50
# Message subtypes that are still a person writing; every other subtype (edits,
# deletions, joins, bot messages...) is not a question.
_PERSON_SUBTYPES = frozenset({"file_share", "thread_broadcast"})
# What Slack's ids and timestamps look like (U0123ABCD, D0123, 1700000000.000100,
# Ev0123): anything else (a lone surrogate, a control character, a 10 KB string) is not
# from Slack and could not be stored as a conversation id, so the event is ignored.
_SLACK_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# What would end or break a Slack link (`<url|label>`) or a URL.
_UNSAFE_IN_LINK = re.compile(r"[\s<>|&\"'`\\]")


class SlackConfigError(RuntimeError):
    """The Slack environment variables are half set or malformed."""


@dataclass(frozen=True)
class SlackConfig:
    """Slack channel settings.

    Attributes:
        bot_token: the app's Bot User OAuth Token (`xoxb-...`).
        signing_secret: the app's signing secret; every request is checked against it.
        channel: optional channel id where the bot answers every message, not only mentions.
        api_url: Slack Web API base URL (tests point it at a fake server on loopback).
        public_url: the server's public address (`LDN_BOT_PUBLIC_URL`, or serve's
            `--public-url`): an answer's source line links to the quoted passage on its
            article page; without it the source line is plain text.
    """

    bot_token: str
    signing_secret: str
    channel: str | None = None
    api_url: str = SLACK_API_URL
    public_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SlackConfig | None:
        """The Slack settings, or None when Slack is not configured at all.

        Raises:
            SlackConfigError: one secret is set without the other, or a value is malformed.
        """
        token = environ.get("SLACK_BOT_TOKEN", "").strip()
        secret = environ.get("SLACK_SIGNING_SECRET", "").strip()
        channel = environ.get("SLACK_CHANNEL", "").strip() or None
        if not token and not secret:
            if channel:
                raise SlackConfigError(
                    "SLACK_CHANNEL is set but SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not: "
                    "set both secrets to switch Slack on (see the README, 'Slack')."
                )
            return None
        missing = [
            name
            for name, value in (("SLACK_BOT_TOKEN", token), ("SLACK_SIGNING_SECRET", secret))
            if not value
        ]
        if missing:
            present = (
                "SLACK_SIGNING_SECRET" if missing == ["SLACK_BOT_TOKEN"] else "SLACK_BOT_TOKEN"
            )
            raise SlackConfigError(
                f"{present} is set but {missing[0]} is not: Slack needs both. Copy it from "
                "your Slack app's settings (see the README, 'Slack'), or unset both."
            )
        if not token.startswith("xoxb-"):
            raise SlackConfigError(
                "SLACK_BOT_TOKEN should be the Bot User OAuth Token, which starts with 'xoxb-' "
                "(Slack app settings → OAuth & Permissions)."
            )
        api_url = environ.get("LDN_BOT_SLACK_API_URL", "").strip() or SLACK_API_URL
        return cls(
            bot_token=token,
            signing_secret=secret,
            channel=channel,
            api_url=api_url,
            public_url=public_base(environ.get("LDN_BOT_PUBLIC_URL")),
        )


def public_base(url: str | None) -> str | None:
    """The public address links are built on (`https://bot.example`, no trailing slash),
    or None when none is given.

    Raises:
        SlackConfigError: the address is not a plain http(s) URL with a host name.
    """
    url = (url or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or _UNSAFE_IN_LINK.search(url)
    ):
        raise SlackConfigError(
            f"LDN_BOT_PUBLIC_URL / --public-url {url!r}: expected the server's public "
            "address, e.g. https://bot.example.org"
        )
    return url.rstrip("/")


@dataclass(frozen=True)
class Delivery:
    """A Slack message to answer: who asked, what, and where the reply goes."""

    user: str
    channel: str
    text: str
    thread_ts: str | None
    dedup_keys: tuple[str, ...]

    @property
    def conversation_id(self) -> str:
        """One conversation per person per Slack conversation (DM or channel)."""
        return f"{self.user}_{self.channel}"


def triage_event(body: Mapping[str, Any], *, answer_channel: str | None = None) -> Delivery | str:
    """Decide what to do with an Events API `event_callback`.

    Returns:
        A `Delivery` for a person's direct message, a mention of the bot, or a message in
        `answer_channel`; otherwise the reason the event is ignored.
    """
    event = body.get("event")
    if not isinstance(event, Mapping):
        return "no event"
    kind = event.get("type")
    if kind not in {"message", "app_mention"}:
        return f"event type {kind!r}"
    if event.get("bot_id") or event.get("bot_profile"):
        return "a bot's message"
    if event.get("subtype") and event.get("subtype") not in _PERSON_SUBTYPES:
        return f"message subtype {event.get('subtype')!r}"
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(ts, str)):
        return "no user, channel or timestamp"
    event_id, thread_ts = body.get("event_id"), event.get("thread_ts")
    ids = (user, channel, ts, event_id, thread_ts)
    if not all(is_slack_id(value) for value in ids if value is not None):
        logger.warning("slack: ignored an event whose ids are not Slack ids")
        return "ids that are not Slack ids"
    bot_users = set(bot_user_ids(body))
    if user in bot_users:
        return "the bot's own message"
    is_dm = event.get("channel_type") == "im"
    if kind == "message" and not is_dm and channel != answer_channel:
        return "a channel message without a mention"
    if not isinstance(thread_ts, str):
        thread_ts = None if is_dm else ts
    keys = [f"message:{channel}:{ts}"]
    if isinstance(event_id, str):
        keys.insert(0, f"event:{event_id}")
    raw = event.get("text")
    return Delivery(
        user=user,
        channel=channel,
        text=clean_incoming(raw if isinstance(raw, str) else "", bot_users),
        thread_ts=thread_ts,
        dedup_keys=tuple(keys),
    )


def triage_action(payload: Mapping[str, Any]) -> Delivery | str:
    """Decide what to do with an interactivity payload (a click on one of our buttons)."""
    actions = payload.get("actions")
    if payload.get("type") != "block_actions" or not isinstance(actions, list) or not actions:
        return "not a button click"
    action = actions[0]
    user = (payload.get("user") or {}).get("id")
    channel = (payload.get("channel") or {}).get("id")
    value = action.get("value") if isinstance(action, Mapping) else None
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(value, str)):
        return "no user, channel or button value"
    message = payload.get("message") or {}
    if not isinstance(message, Mapping):
        return "no message"
    thread_ts = message.get("thread_ts")
    if not isinstance(thread_ts, str) and not channel.startswith("D"):
        thread_ts = message.get("ts") if isinstance(message.get("ts"), str) else None
    action_ts = action.get("action_ts")
    if not all(
        is_slack_id(item) for item in (user, channel, thread_ts, action_ts) if item is not None
    ):
        logger.warning("slack: ignored a button click whose ids are not Slack ids")
        return "ids that are not Slack ids"
    return Delivery(
        user=user,
        channel=channel,
        text=value,
        thread_ts=thread_ts if isinstance(thread_ts, str) else None,
        dedup_keys=(f"action:{user}:{action_ts}",),
    )


def is_slack_id(value: object) -> bool:
    """Whether `value` looks like a Slack id or timestamp (short, plain ASCII)."""
    return isinstance(value, str) and _SLACK_ID.fullmatch(value) is not None


def bot_user_ids(body: Mapping[str, Any]) -> list[str]:
    """The bot's own user ids, from the event's `authorizations` (bot installations only:
    the legacy `authed_users` may list the person who installed the app)."""
    return [
        authorization["user_id"]
        for authorization in body.get("authorizations") or []
        if isinstance(authorization, Mapping)
        and authorization.get("is_bot")
        and isinstance(authorization.get("user_id"), str)
    ]


_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_LINK = re.compile(r"<((?:https?|mailto):[^>|]*)(?:\|([^>]*))?>")


def clean_incoming(text: str, bot_users: Iterable[str] = ()) -> str:
    """Slack's wire text as a person typed it: mentions of the bot dropped, links and
    channel references as their labels, `&amp;`/`&lt;`/`&gt;` decoded."""
    bots = set(bot_users)
    text = _MENTION.sub(lambda m: "" if m.group(1) in bots else "@someone", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1)}", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return " ".join(html.unescape(text).split())


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters escaped, so no reply can ping or link by accident."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(url: str, label: str) -> str:
    """A mrkdwn link; `url` is built by us (`public_base` and an article page path)."""
    return f"<{url}|{escape_mrkdwn(label)}>"


def linked_citation(
    text: str, *, article: Article, citations: Sequence[str], public_url: str | None
) -> str | None:
    """The mrkdwn source line of an article answer (`text`), its "read the passage"
    linking to the quoted passage on the article page at `public_url`; None without a
    public address, citations or the plain source line (then it stays plain text)."""
    if not public_url or not citations:
        return None
    cited = [p for p in _paragraphs(text) if p.startswith(CITATION_MARK)]
    if not cited:
        return None
    return linked_source(
        _source_text(cited[-1]),
        article,
        citations,
        link=slack_link,
        base_url=public_url,
        escape=escape_mrkdwn,
    )


def slack_message(
    text: str, buttons: Sequence[Mapping[str, Any]] = (), *, linked: str | None = None
) -> dict[str, Any]:
    """One reply as a Slack message: `text` (notifications, screen readers) and `blocks`.

    Paragraphs become mrkdwn sections; the citation paragraph becomes a compact context
    line under the answer (`linked`, from `linked_citation`, when given); buttons (at most
    five, Slack's limit) an actions block.
    """
    paragraphs = _paragraphs(text)
    body = [p for p in paragraphs if not p.startswith(CITATION_MARK)]
    citations = [p for p in paragraphs if p.startswith(CITATION_MARK)]
    blocks: list[dict[str, Any]] = []
    for paragraph in body:
        for chunk in _chunks(escape_mrkdwn(paragraph), _SECTION_LIMIT):
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    for index, citation in enumerate(citations):
        last = index == len(citations) - 1
        source = linked if linked is not None and last else escape_mrkdwn(_source_text(citation))
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"{CITATION_MARK} _{source}_"}],
            }
        )
    if buttons:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": str(button["title"])[:75]},
                        "value": str(button["payload"])[:2000],
                        "action_id": f"ldn_button_{index}",
                    }
                    for index, button in enumerate(buttons[:5])
                ],
            }
        )
    fallback = "\n".join(body + citations) or " "
    return {"text": escape_mrkdwn(fallback), "blocks": blocks[:_MAX_BLOCKS]}


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.strip().split("\n\n") if p.strip()]


def _source_text(citation: str) -> str:
    """The citation paragraph without its mark and "Source:"."""
    return citation.removeprefix(CITATION_MARK).strip().removeprefix("Source:").strip()


def _chunks(text: str, size: int) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)] or [""]
