"""The action server endpoint with connection reuse.

Rasa 3.6's `EndpointConfig.request` opens a new `aiohttp.ClientSession` (so a new TCP
connection, and a socket left in TIME_WAIT) for every custom action call. This endpoint
keeps one session per event loop with a keep-alive pool; idle connections are dropped by
the client after 30 s, before the action server's 75 s (`SANIC_KEEP_ALIVE_TIMEOUT`, set
by `rasa_project.action_process.ActionServer`), so a request never races the server closing one.

It also bounds every action call to `ACTION_TIMEOUT_SECONDS` (Rasa waits 5 minutes), and
retries a call once when its connection was dropped (the action server was restarted
and the pooled connection is dead): the project's actions only read, so a repeat is
harmless. A call that still fails is answered by `patches` with "I can't answer that
right now".

With a `secret` (the action server's, made afresh at every start of serve) each call is
signed and each answer must be signed back (`ldn_bot.action_auth`): an answer from
anything else on the port (a program that took it after a crash) is refused like a
failed call. The secret never goes over the wire.
"""

from __future__ import annotations

import asyncio
import json as _json
import zlib
from types import TracebackType
from typing import Any

import aiohttp
from rasa.utils.endpoints import ClientResponseError, EndpointConfig, concat_url

from ldn_bot import action_auth

CLIENT_KEEP_ALIVE_SECONDS = 30
ACTION_TIMEOUT_SECONDS = 10.0


class _Borrowed:
    """`async with` over a shared session that must outlive the block."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        return None


class PooledEndpointConfig(EndpointConfig):
    """`EndpointConfig` whose requests share a keep-alive connection pool."""

    def __init__(self, *args: Any, secret: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secret = secret
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}

    def session(self) -> Any:
        """This event loop's pooled session, borrowed: Rasa's `async with` must not close it."""
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            auth = (
                aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                if self.basic_auth
                else None
            )
            session = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=ACTION_TIMEOUT_SECONDS),
                connector=aiohttp.TCPConnector(
                    limit=64, keepalive_timeout=CLIENT_KEEP_ALIVE_SECONDS
                ),
            )
            self._sessions = {
                known: open_session
                for known, open_session in self._sessions.items()
                if not known.is_closed()
            }
            self._sessions[loop] = session
        return _Borrowed(session)

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        """Rasa's request, time-bounded, signed when there is a secret, retried once on a
        dropped connection."""
        kwargs["timeout"] = aiohttp.ClientTimeout(total=ACTION_TIMEOUT_SECONDS)
        call = super().request if self.secret is None else self._signed_request
        try:
            return await call(*args, **kwargs)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            return await call(*args, **kwargs)

    async def _signed_request(
        self,
        method: str = "post",
        subpath: str | None = None,
        content_type: str | None = "application/json",
        compress: bool = False,
        json: Any = None,
        **kwargs: Any,
    ) -> Any:
        """`EndpointConfig.request`, signed, its answer checked (`ldn_bot.action_auth`)."""
        assert self.secret is not None
        headers = {"Content-Type": content_type} if content_type else {}
        headers.update(kwargs.pop("headers", None) or {})
        headers.update(self.headers or {})
        body = _json_bytes(json) if json is not None else bytes(kwargs.pop("data", b"") or b"")
        if compress:
            body = zlib.compress(body)
            headers["Content-Encoding"] = "deflate"
        nonce = action_auth.new_nonce()
        headers[action_auth.NONCE_HEADER] = nonce
        headers[action_auth.REQUEST_MAC_HEADER] = action_auth.request_mac(self.secret, nonce, body)
        async with (
            self.session() as session,
            session.request(
                method,
                concat_url(self.url, subpath),
                headers=headers,
                params=self.combine_parameters(kwargs),
                data=body,
                **kwargs,
            ) as response,
        ):
            answer = await response.content.read()
            mac = response.headers.get(action_auth.RESPONSE_MAC_HEADER)
            if not action_auth.valid_response(self.secret, nonce, mac, answer):
                raise ClientResponseError(502, "answer not signed by our action server", "")
            if response.status >= 400:
                raise ClientResponseError(response.status, response.reason or "", answer)
            return _json.loads(answer) if answer else None

    async def close(self) -> None:
        """Close the pool of the running event loop (before the loop closes)."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def copy(self) -> PooledEndpointConfig:
        """A `PooledEndpointConfig` with the same settings and secret (the base class's
        copy would lose both)."""
        return PooledEndpointConfig(
            self.url,
            self.params,
            self.headers,
            self.basic_auth,
            self.token,
            self.token_name,
            self.cafile,
            secret=self.secret,
            **self.kwargs,
        )


def _json_bytes(value: Any) -> bytes:
    """The body of an action call: UTF-8, not escapes (an emoji is 4 bytes, not 12)."""
    return _json.dumps(value, ensure_ascii=False).encode()
