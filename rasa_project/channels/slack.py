"""Rasa's Slack channel, made safe to run in public.

What changes from `rasa.core.channels.slack` (the signature check is Rasa's):
- every retry of a delivery already handled (any `X-Slack-Retry-Reason`) and every replay
  of an event id is acknowledged with no second reply; a retry of a delivery we never saw
  is answered (it is the first one to reach us);
- direct messages are answered in the DM, mentions in the thread of the message;
- the bot's own messages, other bots, edits and joins are ignored;
- replies are mrkdwn blocks with the citation as a compact context line (linking to the
  quoted passage on the article page when the server has a public address), posted without
  the legacy `as_user`, with slack_sdk's retry handlers, to a configurable API URL;
- `url_verification` is answered as Slack documents it (`{"challenge": ...}`).

Triage, formatting and de-duplication live in `ldn_bot.slack`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot
from rasa.core.channels.slack import SlackInput as RasaSlackInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from ldn_bot.knowledge.article import load_article
from ldn_bot.metadata import MetadataError, checked_metadata
from ldn_bot.settings import ARTICLE_PATH
from ldn_bot.slack import (
    SLACK_API_URL,
    Delivery,
    SlackConfig,
    linked_citation,
    slack_message,
    triage_action,
    triage_event,
)
from ldn_bot.slack_events import EventLedger, MemoryEventLedger, RedisEventLedger
from rasa_project.channels.context import ChannelContext

logger = logging.getLogger(__name__)

ARTICLE_ANSWER = "utter_article_answer"


class SlackOutput(SlackBot):
    """Posts replies with `chat.postMessage`; a failed post is logged, never raised
    (raising would abort the turn and lose it from the conversation store)."""

    def __init__(
        self,
        token: str,
        channel: str,
        thread_ts: str | None,
        *,
        api_url: str = SLACK_API_URL,
        public_url: str | None = None,
    ) -> None:
        OutputChannel.__init__(self)
        self.slack_channel = channel
        self.thread_id = thread_ts
        self.proxy = None
        self.public_url = public_url
        self.client = AsyncWebClient(
            token,
            base_url=api_url,
            timeout=10,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=2),
                AsyncRateLimitErrorRetryHandler(max_retry_count=2),
                AsyncServerErrorRetryHandler(max_retry_count=2),
            ],
        )

    async def _post(self, message: dict[str, Any]) -> None:
        assert self.slack_channel is not None
        try:
            await self._post_message(self.slack_channel, **message)
        except (SlackApiError, OSError, asyncio.TimeoutError) as error:
            logger.error("slack: chat.postMessage failed: %s", type(error).__name__)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Post one reply (`slack_message`)."""
        await self._post(slack_message(text, linked=self._linked(text, kwargs)))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Post one reply with its buttons as an actions block."""
        await self._post(slack_message(text, buttons, linked=self._linked(text, kwargs)))

    def _linked(self, text: str, kwargs: dict[str, Any]) -> str | None:
        """An article answer's source line linking to the quoted passage, when the server
        has a public address (`SlackConfig.public_url`)."""
        citations = kwargs.get("citations")
        if kwargs.get("utter_action") != ARTICLE_ANSWER or not isinstance(citations, list):
            return None
        return linked_citation(
            text,
            article=load_article(ARTICLE_PATH),
            citations=[unit for unit in citations if isinstance(unit, str)],
            public_url=self.public_url,
        )

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Log and drop: the assistant sends no images."""
        logger.warning("slack: images are not sent (the assistant has none)")

    async def send_attachment(  # type: ignore[override]
        self, recipient_id: str, attachment: Any, **kwargs: Any
    ) -> None:
        """Log and drop: the assistant sends no attachments."""
        logger.warning("slack: attachments are not sent (the assistant has none)")

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Log and drop: the assistant sends no custom JSON."""
        logger.warning("slack: custom JSON is not sent (the assistant has none)")


class SlackInput(RasaSlackInput):
    """The Slack Events API and interactivity webhook at /webhooks/slack/webhook."""

    def __init__(
        self,
        slack_token: str,
        slack_signing_secret: str,
        slack_channel: str | None = None,
        *,
        api_url: str = SLACK_API_URL,
        ledger: EventLedger | None = None,
        public_url: str | None = None,
    ) -> None:
        super().__init__(
            slack_token,
            slack_channel,
            slack_signing_secret=slack_signing_secret,
            conversation_granularity="channel",
        )
        self.api_url = api_url
        self.public_url = public_url
        self.ledger: EventLedger = ledger or MemoryEventLedger()

    @classmethod
    def from_config(cls, config: SlackConfig, ledger: EventLedger | None = None) -> SlackInput:
        """The channel as serve builds it: its Slack settings and the ledger of deliveries."""
        return cls(
            config.bot_token,
            config.signing_secret,
            config.channel,
            api_url=config.api_url,
            ledger=ledger,
            public_url=config.public_url,
        )

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SlackInput:
        """The channel from `credentials.yml`'s Slack keys, de-duplicating in memory."""
        credentials = credentials or {}
        return cls(
            credentials.get("slack_token", ""),
            credentials.get("slack_signing_secret", ""),
            credentials.get("slack_channel"),
            api_url=credentials.get("slack_api_url", SLACK_API_URL),
        )

    def get_output_channel(
        self, channel: str | None = None, thread_id: str | None = None
    ) -> OutputChannel:
        """Where replies go: the given channel (else the configured one) and thread."""
        return SlackOutput(
            self.slack_token,
            channel or self.slack_channel or "",
            thread_id,
            api_url=self.api_url,
            public_url=self.public_url,
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """GET / for health checks; POST /webhook for Slack's events and button clicks.

        A request without a valid Slack signature is refused and a repeated delivery
        ignored; the turn runs after the reply, which Slack wants within three seconds.
        """
        slack_webhook = Blueprint("slack_webhook", __name__)

        @slack_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @slack_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.is_request_from_slack_authentic(request):
                logger.warning("slack: rejected a request without a valid signature")
                return response.text("invalid signature", status=HTTPStatus.UNAUTHORIZED)
            try:
                verdict = self._triage(request)
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
                return response.text("malformed Slack payload", status=HTTPStatus.BAD_REQUEST)
            if isinstance(verdict, HTTPResponse):
                return verdict
            if isinstance(verdict, str):
                logger.debug("slack: ignored (%s)", verdict)
                return response.text("")
            if not self.ledger.first_time(verdict.dedup_keys):
                retry = request.headers.get("x-slack-retry-num")
                logger.info("slack: duplicate delivery ignored (retry %s)", retry or "-")
                return response.text("", headers={"X-Slack-No-Retry": "1"})
            self._answer_later(verdict, on_new_message)
            return response.text("")

        return slack_webhook

    def _triage(self, request: Request) -> Delivery | str | HTTPResponse:
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
        if content_type == "application/x-www-form-urlencoded":
            payload = json.loads(request.form.get("payload") or "{}")
            return triage_action(payload)
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        if body.get("type") == "url_verification":
            return response.json({"challenge": str(body.get("challenge", ""))})
        if body.get("type") != "event_callback":
            return f"payload type {body.get('type')!r}"
        return triage_event(body, answer_channel=self.slack_channel)

    def _answer_later(
        self, delivery: Delivery, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Slack wants its 200 within three seconds: the turn runs after the reply."""
        metadata: dict[str, Any] = {
            "out_channel": delivery.channel,
            "thread_id": delivery.thread_ts,
        }
        try:  # Slack's ids are short strings; bounded all the same, as on every channel
            metadata = checked_metadata(metadata)
        except MetadataError as error:
            logger.warning("slack: message metadata dropped: %s", error)
            metadata = {}
        message = UserMessage(
            delivery.text,
            self.get_output_channel(delivery.channel, delivery.thread_ts),
            delivery.conversation_id,
            input_channel=self.name(),
            metadata=metadata,
        )
        task: asyncio.Future[Any] = asyncio.ensure_future(on_new_message(message))
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)


def served(context: ChannelContext) -> SlackInput | None:
    """Slack when its app's settings are given; de-duplication shared through Redis when
    several servers share one."""
    if context.slack is None:
        return None
    redis_url = context.cfg.redis_url
    seen = RedisEventLedger(redis_url) if redis_url else MemoryEventLedger()
    return SlackInput.from_config(context.slack, ledger=seen)
