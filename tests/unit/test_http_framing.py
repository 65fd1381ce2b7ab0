"""The request-head check both servers run before Sanic reads a body
(`ldn_bot.http_framing`, RFC 9112's rules): ordinary heads pass, every smuggling shape and
other ambiguous head is refused. The running servers are in tests/e2e/test_http_parsing.py.
"""

from __future__ import annotations

import pytest
from http_probes import SHAPES

from ldn_bot.http_framing import MAX_CONTENT_LENGTH_DIGITS, framing_error


@pytest.mark.parametrize(
    "head",
    [
        b"GET /health HTTP/1.1\r\nHost: a",
        b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12",
        b"POST /x HTTP/1.1\r\nHost: a\r\ncontent-length:  0 ",
        b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 005",
        b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked",
        b"GET /health HTTP/1.0",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nUser-Agent: curl/8.0 (x; y: z)",
    ],
)
def test_ordinary_request_heads_pass(head: bytes) -> None:
    assert framing_error(head) is None


@pytest.mark.parametrize("shape", SHAPES)
def test_each_smuggling_shape_is_named(shape: str) -> None:
    headers, _ = SHAPES[shape]
    head = f"POST /x HTTP/1.1\r\nHost: 127.0.0.1:1\r\n{headers}".encode()
    assert framing_error(head) is not None


@pytest.mark.parametrize(
    "head",
    [
        b"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked",
        b"POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked",
        b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked ",
        b"POST /x HTTP/1.1\r\nContent-Length: \xd9\xa3",  # an Arabic-Indic 3: int() takes it
        b"POST /x HTTP/1.1\r\nContent-Length: 1_0",  # int() takes this too
        b"POST /x HTTP/1.1\r\nContent-Length: " + b"1" * (MAX_CONTENT_LENGTH_DIGITS + 1),
        b"POST /x HTTP/1.1\r\nContent-Length:",
        b"GET /x HTTP/1.1\r\nHost: a\r\n folded",
        b"GET /x HTTP/1.1\r\nHost: a\r\nX\tA: b",
        b"GET /x HTTP/1.1\r\nHost: a\r\nHost: a",
    ],
)
def test_other_ambiguous_heads_are_refused(head: bytes) -> None:
    assert framing_error(head) is not None
