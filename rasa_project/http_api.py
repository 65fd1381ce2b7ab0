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
token, not a 500, and so is a signed JWT whose `user` claim is not an object (Rasa
calls `.get` on it). POST /model/parse with a body that is not a JSON object with a
string `text` is a 400 (Rasa answered 500).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from functools import wraps
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
                handler = _checked(route.handler, parse=route.uri == "/model/parse")
                app.add_route(handler, route.uri, methods=[method], name=name)
                added.add((method, route.uri))
    if missing := READ_ONLY_ROUTES - added:
        raise RuntimeError(f"this Rasa version has no API route {sorted(missing)}")

    @app.exception(server.ErrorResponse)
    async def api_error(_: Request, error: server.ErrorResponse) -> HTTPResponse:
        body: dict[str, Any] = {k: v for k, v in error.error_info.items() if k != "version"}
        return response.json(body, status=error.status)

    @app.exception(jwt.exceptions.PyJWTError)
    async def bad_jwt(_: Request, error: jwt.exceptions.PyJWTError) -> HTTPResponse:
        return _not_authenticated()


def _not_authenticated() -> HTTPResponse:
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


Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]


def _checked(handler: Handler, *, parse: bool) -> Handler:
    """Rasa's `handler` (its authentication included), with what it does not check:
    a JWT whose `user` claim is not an object is refused (401) before it runs; for
    /model/parse, once authenticated, a body that is not `{"text": "..."}` is a 400."""

    @wraps(handler)
    async def checked(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        if not _user_claim_is_an_object(request.headers.get("authorization")):
            return _not_authenticated()
        try:
            return await handler(request, *args, **kwargs)
        except server.ErrorResponse as error:
            reason = _parse_body_problem(request.body) if parse else None
            if error.status == HTTPStatus.INTERNAL_SERVER_ERROR and reason is not None:
                raise server.ErrorResponse(HTTPStatus.BAD_REQUEST, "BadRequest", reason) from None
            raise

    return checked


def _user_claim_is_an_object(authorization: str | None) -> bool:
    """False when the bearer token is a JWT with a `user` claim that is not an object
    (signed or not: an unsigned one is refused anyway); True otherwise (Rasa decides)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return True
    try:
        claims = jwt.decode(token.strip(), options={"verify_signature": False})
    except jwt.exceptions.PyJWTError:
        return True  # not a JWT: Rasa's check refuses it
    return not isinstance(claims, dict) or "user" not in claims or isinstance(claims["user"], dict)


def _parse_body_problem(body: bytes) -> str | None:
    """Why a /model/parse body is not `{"text": "..."}`, or None when it is."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "the body is not JSON"
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return 'send {"text": "..."} with the text as a string'
    return None
