"""The one thread that runs the tracker store's database calls.

Every database call runs there, never on Rasa's event loop, and so does everything that
touches the store's memory (the window cache and the events waiting to be written), so
they stay consistent without locks. A database that is slow or locked by another process
(SQLite waits at most `SQLITE_BUSY_TIMEOUT` seconds, then it is an outage) delays the
turns that wait for it, not the server: `/health` and other conversations keep being
answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

_T = TypeVar("_T")


class DatabaseThread:
    """Runs functions on one worker thread, for Rasa's event loop to await."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conversations-db")
        self._loop: asyncio.AbstractEventLoop | None = None  # the event loop last seen
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    async def run(self, function: Callable[..., _T], *args: Any) -> _T:
        """Run `function(*args)` on the database thread; the event loop stays free."""
        self._loop = asyncio.get_running_loop()
        return await self._loop.run_in_executor(self._executor, partial(function, *args))

    def submit(self, function: Callable[[], _T]) -> Future[_T]:
        """Queue `function` on the database thread, from any thread.

        Raises:
            RuntimeError: the thread is shut down (or the interpreter is exiting).
        """
        return self._executor.submit(function)

    def run_later(self, delay: float, function: Callable[[], None]) -> None:
        """Run `function` on the database thread in `delay` seconds, even if no call
        arrives meanwhile: a timer on the event loop last seen (none seen yet: nothing
        is armed, the next call comes first). One timer at a time: while one is armed,
        further requests are already served by it."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._arm, loop, delay, function)
        except RuntimeError:  # the loop is closing
            return

    def shutdown(self) -> None:
        """Stop taking work (what is queued still runs)."""
        self._executor.shutdown(wait=False)

    def _arm(
        self, loop: asyncio.AbstractEventLoop, delay: float, function: Callable[[], None]
    ) -> None:
        if self._timer is not None and self._timer_loop is loop:
            return
        self._timer_loop = loop
        self._timer = loop.call_later(delay, self._fire, function)

    def _fire(self, function: Callable[[], None]) -> None:
        self._timer = None
        try:
            self._executor.submit(function)
        except RuntimeError:  # shutting down: the store's close() deals with what waits
            return
