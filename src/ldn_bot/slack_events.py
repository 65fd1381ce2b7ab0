"""Slack's retried deliveries, answered once: which event ids were handled already.

Slack retries a delivery it did not see answered within three seconds; the Slack channel
(`rasa_project/channels/slack.py`) asks `first_time` before it answers one.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

logger = logging.getLogger(__name__)


class EventLedger(Protocol):
    """Remembers which Slack deliveries were handled (in memory, or shared in Redis)."""

    def first_time(self, keys: Sequence[str]) -> bool:
        """True once for a delivery: no key was seen before. Records every key."""
        ...


class MemoryEventLedger:
    """Event ids seen in the last `ttl` seconds, at most `capacity` of them, in this process.

    Slack retries a delivery three times within about five minutes; an hour covers that
    and any replay a person could make with a still-fresh signature.
    """

    def __init__(self, *, ttl: float = 3600.0, capacity: int = 100_000) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, keys: Sequence[str]) -> bool:
        """True once for a delivery: no key was seen in the last `ttl` seconds."""
        now = time.monotonic()
        while self._seen and (
            next(iter(self._seen.values())) < now - self._ttl or len(self._seen) > self._capacity
        ):
            self._seen.popitem(last=False)
        fresh = not any(key in self._seen for key in keys)
        for key in keys:
            self._seen[key] = now
            self._seen.move_to_end(key)
        return fresh


class RedisEventLedger:
    """Event ids seen by any server, in Redis (`SET key NX EX ttl`), so a retry that a load
    balancer sends to another server is still recognised. If Redis is unreachable, this
    server's memory stands in (a retry could then be answered by a second server)."""

    def __init__(self, url: str, *, ttl: int = 3600) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._ttl = ttl
        self._fallback = MemoryEventLedger(ttl=ttl)

    def first_time(self, keys: Sequence[str]) -> bool:
        """True once for a delivery across servers (Redis `SET NX`); in memory if Redis is down."""
        try:
            pipeline = self._redis.pipeline(transaction=False)
            for key in keys:
                pipeline.set(f"ldn_bot:slack:{key}", 1, nx=True, ex=self._ttl)
            return all(pipeline.execute())
        except self._errors:
            logger.error("slack: Redis unreachable; de-duplicating in this server only")
            return self._fallback.first_time(keys)
