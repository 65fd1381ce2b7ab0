"""Rasa's REST channel with its requests checked first.

Rasa's handler runs unchanged; a request middleware of the channel's blueprint answers
first when the request is not one it should see:
- 401 without `Authorization: Bearer <token>` when a token is configured (serve requires
  one on any address but loopback, see `ldn_bot.exposure`);
- 403 without a token for a request whose `Host` is not a loopback name: a server on
  loopback behind a reverse proxy for `bot.example.org` is reached from anywhere, so the
  open REST channel answers only requests addressed to `localhost`/`127.0.0.1`/`[::1]`;
- 415 for a body not sent as `Content-Type: application/json` (a charset parameter is
  fine): a browser posts other sites' forms and `text/plain` bodies without a CORS
  preflight, so this also closes the cross-origin form post;
- 400 with `{"error": ...}` for a body that is not a JSON object with a string `sender`
  (1-128 characters) and a string `message` (`ldn_bot.rest_request`). Rasa answers some
  of these with a 500, and files others in the shared conversation "default" or under the
  sender id "['a']".

The checked body replaces the parsed JSON Rasa's handler reads, so a client cannot set
`input_channel` (the channel name the ledger records). The conversation is stored as
`rest:<sender>` (`ldn_bot.senders`; the namespace is added in
`rasa_project.channels.registration`), so no sender a REST client sends can name a web or
Slack conversation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from ldn_bot.exposure import RestAccess, bearer_matches, names_loopback
from ldn_bot.rest_request import RestRequestError, is_json, parse_rest_request
from rasa_project.channels.context import ChannelContext


class RestInput(RasaRestInput):
    """POST /webhooks/rest/webhook `{"sender": "...", "message": "..."}`."""

    def __init__(self, *, token: str | None = None) -> None:
        self.token = token

    @classmethod
    def name(cls) -> str:
        """The channel's name in `credentials.yml` and its webhook path."""
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestInput:
        """The channel as Rasa builds it from `credentials.yml`: no token (it is a secret,
        set by serve)."""
        return cls()  # the token is a secret: it comes from serve's settings, not a file

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's REST webhook, with every POST checked first.

        Without a token only loopback names are answered; with one, the bearer token must
        match. The body must be JSON and a valid REST request.
        """
        rest_webhook = super().blueprint(on_new_message)

        @rest_webhook.middleware("request")
        async def check(request: Request) -> HTTPResponse | None:
            if request.method != "POST":
                return None
            if self.token is None and not names_loopback(request.headers.get("host")):
                return response.json(
                    {
                        "error": "REST without a token answers only this machine: "
                        "set LDN_BOT_REST_TOKEN"
                    },
                    status=HTTPStatus.FORBIDDEN,
                )
            if self.token is not None and not bearer_matches(
                request.headers.get("authorization"), self.token
            ):
                return response.json(
                    {"error": "missing or wrong 'Authorization: Bearer <token>'"},
                    status=HTTPStatus.UNAUTHORIZED,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if not is_json(request.headers.get("content-type")):
                return response.json(
                    {"error": "send the body as 'Content-Type: application/json'"},
                    status=HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                )
            try:
                checked = parse_rest_request(request.body)
            except RestRequestError as error:
                return response.json({"error": str(error)}, status=HTTPStatus.BAD_REQUEST)
            request.parsed_json = checked.as_json()  # type: ignore[assignment]  # Sanic types it None
            return None

        return rest_webhook


def served(context: ChannelContext) -> RestInput | None:
    """REST as `serve` runs it: off, on loopback only, or with a bearer token."""
    if context.exposure.rest is RestAccess.OFF:
        return None
    return RestInput(token=context.exposure.rest_token)
