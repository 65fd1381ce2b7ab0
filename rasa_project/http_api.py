"""The Rasa HTTP API as `ldn-bot serve --enable-api` offers it: read-only routes only.

Rasa's own handlers (`rasa.server.create_app`, with its token and JWT checks) are built
on a Rasa app that is never served; the routes in `READ_ONLY_ROUTES` are then added to
serve's app, and every other one is left out and answers 404:
- the model cannot be replaced, unloaded, trained or tested (PUT/DELETE /model,
  POST /model/train, /model/test/*);
- no events can be written into a conversation (POST/PUT .../tracker/events, .../execute,
  .../trigger_intent, .../messages) nor actions predicted on made-up trackers
  (.../predict, /model/predict): with those an API user could make the bot "say"
  anything, outside the guard that checks every user message;
- `/` (the "Hello from Rasa" banner) and `/version` (served without any token) are not
  added: `/` is the chat page.
Error answers are Rasa's JSON without its `version` field. A JWT that sanic-jwt does not
catch itself (`alg: none`, a wrong algorithm, a missing claim) is a 401 like any other bad
token, not a 500.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import jwt
from rasa import server
from rasa.core.utils import AvailableEndpoints
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from ldn_bot.exposure import ApiAccess

READ_ONLY_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/status"),
        ("GET", "/domain"),
        ("GET", "/conversations/<conversation_id:path>/tracker"),
        ("GET", "/conversations/<conversation_id:path>/story"),
        ("POST", "/model/parse"),
    }
)


def rasa_api(access: ApiAccess, endpoints: AvailableEndpoints) -> Sanic:
    """Rasa's API app with its authentication, never served itself: serve's app takes
    its context (`Sanic(ctx=...)`, so both see the loaded agent) and some of its routes."""
    return server.create_app(
        cors_origins=None,
        auth_token=access.token,
        jwt_secret=access.jwt_secret,
        jwt_method="HS256",
        endpoints=endpoints,
    )


def add_read_only_routes(app: Sanic, api: Sanic) -> None:
    """Add the `READ_ONLY_ROUTES` of Rasa's `api` app to `app`, with their handlers."""
    added: set[tuple[str, str]] = set()
    for route in api.router.routes:
        for method in route.methods:
            if (method, route.uri) in READ_ONLY_ROUTES:
                name = "rasa_api_" + route.name.rsplit(".", 1)[-1]
                app.add_route(route.handler, route.uri, methods=[method], name=name)
                added.add((method, route.uri))
    if missing := READ_ONLY_ROUTES - added:
        raise RuntimeError(f"this Rasa version has no API route {sorted(missing)}")

    @app.exception(server.ErrorResponse)
    async def api_error(_: Request, error: server.ErrorResponse) -> HTTPResponse:
        body: dict[str, Any] = {k: v for k, v in error.error_info.items() if k != "version"}
        return response.json(body, status=error.status)

    @app.exception(jwt.exceptions.PyJWTError)
    async def bad_jwt(_: Request, error: jwt.exceptions.PyJWTError) -> HTTPResponse:
        return response.json(
            {
                "status": "failure",
                "message": "User is not authenticated.",
                "reason": "NotAuthenticated",
                "code": HTTPStatus.UNAUTHORIZED,
            },
            status=HTTPStatus.UNAUTHORIZED,
            headers={"WWW-Authenticate": "Bearer"},
        )
