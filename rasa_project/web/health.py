"""`GET /health`: the server's state and its stores', read from memory only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_project.tracker_store import ledger_store


def add_health_route(app: Sanic, action_server: Callable[[], Mapping[str, Any]] | None) -> None:
    """`/health` on `app`; `action_server` is the supervisor's view of it, if any."""

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        """The server's state and its stores': "loading" (503) until the model is ready,
        then "ok", or "degraded" while a store cannot reach its database or has set items
        aside ("poisoned": they could not be written; each is logged and kept in the
        quarantine file under var/), or while the action server is unavailable ("actions":
        since when and why; the supervisor restarts it; article questions get "I can't
        answer that right now" meanwhile, the safety replies are unaffected).

        Degraded is still 200: the bot keeps answering (conversations continue from memory
        and what could not be written waits there), so a load balancer must keep sending
        traffic, and restarting the server would lose what waits. Monitoring reads
        "status" and each store's "available", "poisoned" and "last_error". Only memory is
        read here, never the database: this answers while the database is locked.
        """
        agent = getattr(request.app.ctx, "agent", None)
        store = ledger_store(agent)
        conversations = store.health() if store is not None else None
        ledger = store.ledger_writer.stats() if store is not None else None
        ready = agent is not None and agent.is_ready()
        healthy = (
            conversations is None or (conversations.available and not conversations.poisoned)
        ) and (ledger is None or (bool(ledger["available"]) and not ledger["poisoned"]))
        actions = dict(action_server()) if action_server is not None else None
        healthy = healthy and (actions is None or bool(actions["available"]))
        status = "loading" if not ready else "ok" if healthy else "degraded"
        return response.json(
            {
                "status": status,
                "conversations": conversations.as_json() if conversations else None,
                "ledger": dict(ledger) if ledger is not None else None,
                "actions": actions,
            },
            status=200 if ready else 503,
        )
