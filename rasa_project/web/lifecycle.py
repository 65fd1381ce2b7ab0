"""How `serve` stops: refuse new requests at once, finish those in flight, then write."""

from __future__ import annotations

import signal
import threading
from typing import Any

from rasa.core.run import close_resources
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_project.assistant import close_action_endpoint, close_stores_at_exit

# The stores' last writes, after the requests in flight (bounded, also with the database
# locked: what cannot be written is kept in the quarantine file).
STORES_AT_EXIT_SECONDS = 4.0


def stop_gracefully(app: Sanic) -> None:
    """SIGTERM and Ctrl-C: stop accepting, finish what is in flight, write, exit.

    Sanic then runs `before_server_stop`, closes the listening socket (new connections
    are refused), closes idle keep-alive connections and waits up to
    `GRACEFUL_SHUTDOWN_TIMEOUT` for the busy ones before `after_server_stop`. Two gaps are
    closed here: a busy keep-alive connection would stay open for more requests (its
    response now says `Connection: close`, and a request that still comes on it gets a
    503 before anything is stored), and the ledger was flushed *before* the requests in
    flight had finished (it is now flushed after, with the action pool closed).
    """
    app.ctx.stopping = False

    @app.middleware("request")
    async def refuse_when_stopping(request: Request) -> HTTPResponse | None:
        """503, connection closed, once stopping."""
        if not request.app.ctx.stopping:
            return None
        if request.stream is not None:
            request.stream.keep_alive = False
        return response.json({"error": "the server is stopping"}, status=503)

    @app.middleware("response")
    async def close_when_stopping(request: Request, _answer: HTTPResponse) -> None:
        """Close the connection after answering, once stopping."""
        if request.app.ctx.stopping and request.stream is not None:
            request.stream.keep_alive = False

    app.register_listener(_on_signal_stop_at_once, "after_server_start")
    app.register_listener(_stop_accepting, "before_server_stop")
    # "after" listeners of shutdown run last-registered first: `_release`, then Rasa's.
    app.register_listener(close_resources, "after_server_stop")
    app.register_listener(_release, "after_server_stop")


async def _on_signal_stop_at_once(app: Sanic, _loop: Any) -> None:
    """SIGTERM and SIGINT refuse new requests at once, even while the event loop is busy.

    Sanic's handlers (`loop.add_signal_handler`) only run when the loop gets to them; under
    load that took long enough for new requests to be answered after the signal. The
    Python-level handler (a no-op that asyncio installs next to its wake-up fd) runs in
    the loop's thread straight away: here it sets the flag the middleware reads. The
    loop, woken through its fd as before, still stops the server.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # signals reach the main thread only (an app run in a test thread)

    def on_signal(_signum: int, _frame: Any) -> None:
        app.ctx.stopping = True

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, on_signal)


async def _stop_accepting(app: Sanic, _loop: Any) -> None:
    """From now on, responses close their connection and new requests get 503."""
    app.ctx.stopping = True


async def _release(app: Sanic, _loop: Any) -> None:
    """Once the requests in flight are done: close the action server's connection pool
    and write the pending ledger rows and conversation events (bounded)."""
    agent = getattr(app.ctx, "agent", None)
    await close_action_endpoint(agent)
    await app.loop.run_in_executor(None, close_stores_at_exit, agent, STORES_AT_EXIT_SECONDS)
