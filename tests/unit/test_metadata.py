"""`checked_metadata`: what a channel passes on with a message, bounded (issue 12, item 2)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ldn_bot.metadata import (
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    MetadataError,
    checked_metadata,
)
from ldn_bot.rest_request import RestRequestError, parse_rest_request


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    "metadata",
    [{}, {"utm": "x", "n": 1, "f": 0.5, "ok": True, "none": None}, nested(MAX_METADATA_DEPTH)],
)
def test_small_plain_metadata_is_passed_on_unchanged(metadata: dict[str, Any]) -> None:
    assert checked_metadata(metadata) is metadata


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ([1], "must be a JSON object"),
        ("text", "must be a JSON object"),
        (nested(MAX_METADATA_DEPTH + 1), "nested at most 8 levels"),
        ({"a": [[[[[[[[1]]]]]]]]}, "nested at most 8 levels"),
        (nested(100_000), "nested at most 8 levels"),  # no recursion in the check itself
        ({"x": "y" * MAX_METADATA_BYTES}, "at most 8192 bytes"),
        ({1: "a"}, "keys must be strings"),
        ({"a": "\ud800"}, "lone surrogates"),
        ({"\udfff": 1}, "lone surrogates"),
        ({"a": float("nan")}, "finite"),
        ({"a": float("inf")}, "finite"),
        ({"a": object()}, "only JSON values"),
    ],
)
def test_metadata_that_is_not_small_plain_json_is_refused_with_the_reason(
    metadata: Any, reason: str
) -> None:
    with pytest.raises(MetadataError, match=reason.replace("(", r"\(")):
        checked_metadata(metadata)


@pytest.mark.parametrize("levels", [980, 2_000, 32_000, 100_000])
def test_a_rest_body_nested_at_any_depth_is_a_request_error_never_a_crash(levels: int) -> None:
    body = b'{"sender": "a", "message": "hi", "metadata": {"x": %s}}' % (
        b"[" * levels + b"]" * levels
    )
    with pytest.raises(RestRequestError, match="nested"):
        parse_rest_request(body)


def test_an_unclosed_64_kb_nesting_is_a_request_error_never_a_crash() -> None:
    """The deepest body the 64 KB limit lets through: 65,000 levels, never closed."""
    body = b'{"sender": "a", "message": "hi", "metadata": ' + b"[" * 65_000
    with pytest.raises(RestRequestError, match="nested too deeply"):
        parse_rest_request(body)


def test_rest_metadata_reasons_reach_the_client() -> None:
    body = json.dumps({"sender": "a", "message": "hi", "metadata": {"a": float("nan")}})
    with pytest.raises(RestRequestError, match="finite"):
        parse_rest_request(body.encode())
