"""HTTP probes of a running `ldn-bot serve`: raw requests whose status and headers the
exposure tests assert (HTTP errors are answers too), and the REST and vote bodies and the
request-smuggling heads it must refuse (the parsers' unit tests and the end-to-end tests
share them)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import aiohttp

from ldn_bot.rest_request import MAX_SENDER_LENGTH

FOREIGN = "https://evil.example"

MALFORMED_REST_BODIES: dict[str, bytes] = {
    "not JSON": b'{"sender": "a", ',
    "empty body": b"",
    "invalid UTF-8": b'{"sender": "a", "message": "\xff\xfe"}',
    "JSON array": b'[{"sender": "a", "message": "hi"}]',
    "JSON string": b'"hi"',
    "JSON null": b"null",
    "no sender": b'{"message": "hi"}',
    "sender null": b'{"sender": null, "message": "hi"}',
    "sender empty": b'{"sender": "", "message": "hi"}',
    "sender number": b'{"sender": 5, "message": "hi"}',
    "sender list": b'{"sender": ["a"], "message": "hi"}',
    "sender object": b'{"sender": {"a": 1}, "message": "hi"}',
    "sender too long": json.dumps(
        {"sender": "x" * (MAX_SENDER_LENGTH + 1), "message": "hi"}
    ).encode(),
    "sender with a line break": b'{"sender": "a\\n2026-01-01 INFO forged", "message": "hi"}',
    "sender with NUL": b'{"sender": "a\\u0000b", "message": "hi"}',
    "no message": b'{"sender": "a"}',
    "message null": b'{"sender": "a", "message": null}',
    "message number": b'{"sender": "a", "message": 5}',
    "message list": b'{"sender": "a", "message": ["hi"]}',
    "message object": b'{"sender": "a", "message": {"text": "hi"}}',
    "lone surrogate": b'{"sender": "a", "message": "\\ud800"}',
    "metadata not an object": b'{"sender": "a", "message": "hi", "metadata": "x"}',
}

# Votes `/api/feedback` must refuse with a 400 and a reason (issue 12, item 4).
MALFORMED_VOTES: dict[str, bytes] = {
    "index 1e400": b'{"session_id": "s", "bot_index": 1e400, "vote": "up"}',
    "index float": b'{"session_id": "s", "bot_index": 1.0, "vote": "up"}',
    "index huge": b'{"session_id": "s", "bot_index": 1' + b"0" * 40 + b', "vote": "up"}',
    "index thousands of digits": b'{"session_id": "s", "bot_index": '
    + b"9" * 5000
    + b', "vote": "up"}',
    "index negative": b'{"session_id": "s", "bot_index": -1, "vote": "up"}',
    "index true": b'{"session_id": "s", "bot_index": true, "vote": "up"}',
    "index string": b'{"session_id": "s", "bot_index": "2", "vote": "up"}',
    "no index": b'{"session_id": "s", "vote": "up"}',
    "vote sideways": b'{"session_id": "s", "bot_index": 0, "vote": "sideways"}',
    "vote list": b'{"session_id": "s", "bot_index": 0, "vote": ["up"]}',
    "session lone surrogate": b'{"session_id": "\\ud800", "bot_index": 0, "vote": "up"}',
    "session NUL": b'{"session_id": "a\\u0000", "bot_index": 0, "vote": "up"}',
    "session number": b'{"session_id": 5, "bot_index": 0, "vote": "up"}',
    "session too long": json.dumps(
        {"session_id": "s" * 129, "bot_index": 0, "vote": "up"}
    ).encode(),
    "deep JSON": b"[" * 30_000 + b"]" * 30_000,
    "deep object": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "not JSON": b'{"session_id": ',
    "not UTF-8": b'{"session_id": "\xff\xfe"}',
    "array": b"[]",
    "empty": b"",
}


# A REST message, and the request heads around it that both servers must refuse with a 400
# before reading any body (`ldn_bot.http_framing`).
REST_BODY = b'{"sender": "smuggler", "message": "hi"}'
# Each shape: the header lines after the request line and Host, and the body (`{smug}`
# stands for a whole second request). From the attack pass's rawhttp2.py and cl_minus1.py.
NEGATIVE = ("Content-Length: -1", b"{}")
SHAPES: dict[str, tuple[str, bytes]] = {
    "negative Content-Length": NEGATIVE,
    "Content-Length with a sign": (f"Content-Length: +{len(REST_BODY)}", REST_BODY),
    "hex Content-Length": ("Content-Length: 0x10", REST_BODY),
    "oversize Content-Length": ("Content-Length: " + "9" * 30, REST_BODY),
    "two different Content-Lengths": (
        f"Content-Length: {len(REST_BODY)}\r\nContent-Length: 5",
        REST_BODY,
    ),
    "Content-Length then Transfer-Encoding": (
        "Content-Length: 4\r\nTransfer-Encoding: chunked",
        b"%x\r\n%b\r\n0\r\n\r\n" % (len(REST_BODY), REST_BODY),
    ),
    "Transfer-Encoding then Content-Length, a request in the body": (
        "Transfer-Encoding: chunked\r\nContent-Length: 200",
        b"0\r\n\r\n{smug}",
    ),
    "Transfer-Encoding with a space before the colon": (
        f"Transfer-Encoding : chunked\r\nContent-Length: {len(REST_BODY)}",
        REST_BODY,
    ),
    "Content-Length with a space before the colon": (
        f"Content-Length : {len(REST_BODY)}",
        REST_BODY,
    ),
    "Transfer-Encoding xchunked": (
        f"Transfer-Encoding: xchunked\r\nContent-Length: {len(REST_BODY)}",
        REST_BODY,
    ),
    "Transfer-Encoding chunked, chunked": (
        "Transfer-Encoding: chunked, chunked",
        b"%x\r\n%b\r\n0\r\n\r\n" % (len(REST_BODY), REST_BODY),
    ),
    "two Transfer-Encodings": (
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity",
        b"%x\r\n%b\r\n0\r\n\r\n" % (len(REST_BODY), REST_BODY),
    ),
    "two Host headers": ("Host: evil.example\r\nContent-Length: 0", b""),
}


def http(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def page_post(
    url: str,
    path: str,
    body: Any,
    *,
    origin: str | None = "own",
    content_type: str = "application/json",
) -> tuple[int, Any]:
    """POST `body` (JSON unless bytes) to one of the page's own APIs, as the page sends it
    (`origin` "own": the server's own origin; None: no Origin header). The answer's JSON,
    or its raw bytes when it is not JSON."""
    headers = {"Content-Type": content_type}
    if origin is not None:
        headers["Origin"] = url if origin == "own" else origin
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, _, answer = http(f"{url}{path}", method="POST", body=raw, headers=headers)
    try:
        return status, json.loads(answer) if answer else None
    except ValueError:
        return status, answer


def rest_post(url: str, body: bytes, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return http(
        f"{url}/webhooks/rest/webhook",
        method="POST",
        body=body,
        headers={"Content-Type": "application/json", **headers},
    )


def preflight(url: str, path: str, origin: str) -> dict[str, str]:
    _, headers, _ = http(
        f"{url}{path}",
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    return headers


def socketio_handshake(url: str, origin: str | None) -> int:
    """Status of an Engine.IO polling handshake sent with this Origin."""
    status, _, _ = http(
        f"{url}/socket.io/?EIO=4&transport=polling", headers={"Origin": origin} if origin else {}
    )
    return status


def websocket_opens(url: str, origin: str) -> bool:
    """Whether an Engine.IO WebSocket handshake sent with this Origin is accepted."""

    async def connect() -> bool:
        ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(ws_url, origin=origin, timeout=10):
                    return True
            except aiohttp.WSServerHandshakeError:
                return False

    return asyncio.run(connect())
