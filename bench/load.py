"""The load generator: simulated people asking the 20 load-test questions over REST, timed."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

import aiohttp

from bench.environment import ROOT

T = TypeVar("T")


@lru_cache(maxsize=1)
def questions() -> tuple[str, ...]:
    """What people ask: article questions (custom actions), doses (guard), small talk, off-topic.

    Read from `tests/data/load_questions.txt`, the list the load tests share.
    """
    return tuple(
        line
        for line in (ROOT / "tests" / "data" / "load_questions.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )


@dataclass
class Load:
    """What one load produced: the latency of each answered message, and what went wrong."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0  # HTTP errors, timeouts, refused connections
    silent: int = 0  # answered 200 with no reply at all
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Answered messages per second of the whole load."""
        return len(self.latencies) / self.seconds if self.seconds else float("nan")


async def converse(
    session: aiohttp.ClientSession, url: str, *, users: int, messages: int, turns_per_sender: int
) -> Load:
    """`users` people at once, each sending `messages` in conversations of `turns_per_sender`."""
    load = Load()
    asked = questions()

    async def person(index: int) -> None:
        sender = ""
        for turn in range(messages):
            if turn % turns_per_sender == 0:
                sender = f"bench-{index}-{uuid.uuid4().hex}"
            body = {"sender": sender, "message": asked[(index + turn) % len(asked)]}
            started = time.perf_counter()
            try:
                async with session.post(url, json=body) as reply:
                    answer = await reply.json() if reply.status == 200 else None
            except (aiohttp.ClientError, asyncio.TimeoutError):
                answer = None
            if answer is None:
                load.errors += 1
                continue
            load.latencies.append(time.perf_counter() - started)
            load.silent += not answer

    started = time.perf_counter()
    await asyncio.gather(*(person(i) for i in range(users)))
    load.seconds = time.perf_counter() - started
    return load


async def long_conversation(session: aiohttp.ClientSession, url: str, length: int) -> list[float]:
    """One sender, `length` messages in a row: the latency of each, to see a tracker's growth."""
    asked = questions()
    sender, latencies = f"long-{uuid.uuid4().hex}", []
    for turn in range(length):
        started = time.perf_counter()
        async with session.post(
            url, json={"sender": sender, "message": asked[turn % len(asked)]}
        ) as reply:
            await reply.read()
        latencies.append(time.perf_counter() - started)
    return latencies


@contextlib.asynccontextmanager
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session shared by all simulated people of one load."""
    # Keep-alive shorter than Sanic's default 5 s so neither server closes a connection
    # the client is about to reuse.
    connector = aiohttp.TCPConnector(limit=64, keepalive_timeout=3)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        yield session


def run(coroutine_factory: Callable[[aiohttp.ClientSession], Coroutine[Any, Any, T]]) -> T:
    """Run one load to completion in a fresh event loop with its own client session."""

    async def main() -> T:
        async with client() as session:
            return await coroutine_factory(session)

    return asyncio.run(main())
