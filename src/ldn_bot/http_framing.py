"""Refuse requests whose body framing is ambiguous, before Sanic reads any body.

Sanic 21.12 (under Rasa and rasa-sdk) takes `Content-Length` with `int()`: `-1` made its
body reader loop without ever awaiting, so one request froze the whole server at 100%
CPU (SIGTERM included). It also accepts what request smuggling is built from: a
`Transfer-Encoding` next to a `Content-Length`, two different lengths, a header name
with a space before the colon (`Transfer-Encoding : chunked`), an unknown transfer
coding, two `Host` headers. RFC 9112 (sections 5.1, 6.1, 6.3, 3.2) says such a request
is answered 400 and the connection closed; newer Sanic releases tightened the same
parser, but this project is pinned to Rasa's Sanic.

`framing_error(head)` checks the raw request head (request line and header lines, no
final blank line) and says what is wrong, or None. `refuse_ambiguous_framing(app)`
runs it on every request of a Sanic app, through the `http.lifecycle.read_head` signal:
Sanic dispatches it once the head is in, before it parses the headers or touches the
body, and turns an exception there into "400 Bad Request" with the connection closed
(answered by Sanic's error handler, not the app's request middleware: see below).
Both servers install it at start-up: `rasa_project.web.app.create_app` and
`rasa_project.action_server.secure`. Nothing here imports Sanic.
"""

from __future__ import annotations

import logging
import re
from typing import Any

logger = logging.getLogger(__name__)

# RFC 9110 5.1: a field name is a token; nothing else (no space, tab, control byte).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 8.6: Content-Length = 1*DIGIT (ASCII digits only, no sign, no spaces inside).
_DIGITS = re.compile(r"[0-9]+")
# A length no client sends: larger ones are refused outright, not parsed into big ints
# (bodies over the server's REQUEST_MAX_SIZE but under this still get Sanic's 413).
MAX_CONTENT_LENGTH_DIGITS = 18


class AmbiguousFraming(ValueError):
    """The request's head does not say unambiguously where its body ends."""


def framing_error(head: bytes) -> str | None:
    """What makes this request head unsafe to serve, or None when it is fine.

    `head` is the request line and header lines separated by CRLF, as Sanic has it.
    Refused: a header line without a colon or with anything but a token before it (a
    space before the colon, an obs-fold continuation line); a `Content-Length` that is
    not plain ASCII digits, has over `MAX_CONTENT_LENGTH_DIGITS` digits, or appears with
    different values; a `Transfer-Encoding` other than exactly one `chunked` (or any on
    HTTP/1.0); both headers together; more than one `Host`.
    """
    text = head.decode("latin-1")
    request_line, *lines = text.split("\r\n")
    lengths: set[str] = set()
    encodings: list[str] = []
    hosts = 0
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            return f"malformed header line {line[:40]!r}"
        name = name.lower()
        if name == "content-length":
            value = value.strip(" \t")
            if not _DIGITS.fullmatch(value) or len(value) > MAX_CONTENT_LENGTH_DIGITS:
                return f"bad Content-Length {value[:40]!r}"
            lengths.add(value.lstrip("0") or "0")
        elif name == "transfer-encoding":
            encodings.append(value.lstrip())  # as Sanic reads it: "chunked " is not chunked
        elif name == "host":
            hosts += 1
    if len(lengths) > 1:
        return "different Content-Length values"
    if encodings:
        if encodings != ["chunked"]:
            return f"unsupported Transfer-Encoding {', '.join(encodings)[:40]!r}"
        if lengths:
            return "both Transfer-Encoding and Content-Length"
        if request_line.endswith(" HTTP/1.0"):
            return "Transfer-Encoding on HTTP/1.0"
    if hosts > 1:
        return "more than one Host header"
    return None


def refuse_ambiguous_framing(app: Any) -> None:
    """Answer 400, and close the connection, for every request `framing_error` refuses.

    `app` is a Sanic app; call before it starts (Sanic compiles the signal in at start).
    """

    async def check_head(head: bytes, **_: Any) -> None:
        problem = framing_error(head)
        if problem is not None:
            logger.info("refused a request (400): %s", problem)
            raise AmbiguousFraming(problem)

    async def answer_unparsed_plainly(request: Any, **_: Any) -> None:
        # Sanic 21.12 runs the request middleware before answering any error, also for a
        # head it refused, on a stand-in request with no headers: serve's Host check then
        # said 421 and the action server's signature check 401 instead of the 400. The
        # stand-in is the only request without a head; for it the middleware is skipped
        # and Sanic's error handler answers (400 here, 413 for a head over the size cap).
        if not request.head:
            request.request_middleware_started = True

    app.signal("http.lifecycle.read_head")(check_head)
    app.signal("http.lifecycle.exception")(answer_unparsed_plainly)
