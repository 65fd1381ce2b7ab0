"""The action server endpoint with connection reuse.

Rasa 3.6's `EndpointConfig.request` opens a new `aiohttp.ClientSession` (so a new TCP
connection, and a socket left in TIME_WAIT) for every custom action call. This endpoint
keeps one session per event loop with a keep-alive pool; idle connections are dropped by
the client after 30 s, before the action server's 75 s (`SANIC_KEEP_ALIVE_TIMEOUT`, set
by `ldn_bot.runtime.ActionServer`), so a request never races the server closing one.

It also bounds every action call to `ACTION_TIMEOUT_SECONDS` (Rasa waits 5 minutes), and
retries a call once when its connection was dropped (the action server was restarted
and the pooled connection is dead): the project's actions only read, so a repeat is
harmless. A call that still fails is answered by `patches` with "I can't answer that
right now".
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import aiohttp
from rasa.utils.endpoints import EndpointConfig

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}

    def session(self) -> Any:
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
        kwargs["timeout"] = aiohttp.ClientTimeout(total=ACTION_TIMEOUT_SECONDS)
        try:
            return await super().request(*args, **kwargs)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            return await super().request(*args, **kwargs)

    async def close(self) -> None:
        """Close the pool of the running event loop (before the loop closes)."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    def copy(self) -> PooledEndpointConfig:
        return PooledEndpointConfig(
            self.url,
            self.params,
            self.headers,
            self.basic_auth,
            self.token,
            self.token_name,
            self.cafile,
            **self.kwargs,
        )
