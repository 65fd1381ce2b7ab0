"""The `metadata` object a channel passes on with a message, bounded before Rasa sees it.

Rasa copies a message's metadata into its `UserUttered` event, which the tracker store
serialises and stores with the conversation. A 2 KB body nested 980 levels deep made that
serialisation raise `RecursionError` in the store; the channels now refuse (REST, 400) or
drop (socket.io, logged) any metadata that is not small, flat-ish, plain JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ldn_bot.inputs import encodable

MAX_METADATA_DEPTH = 8
"""Levels of nested objects and lists (the object itself is level 1)."""
MAX_METADATA_BYTES = 8 * 1024
"""Serialised size (UTF-8 JSON)."""


class MetadataError(ValueError):
    """The metadata cannot be passed on: the text says what is wrong with it."""


def checked_metadata(raw: Any) -> dict[str, Any]:
    """`raw` when it is a JSON object Rasa can store, else `MetadataError` saying why.

    Allowed: an object with string keys, at most `MAX_METADATA_DEPTH` levels of objects and
    lists, strings without lone surrogates, finite numbers, true/false/null, at most
    `MAX_METADATA_BYTES` bytes once serialised.
    """
    if not isinstance(raw, dict):
        raise MetadataError('"metadata" must be a JSON object')
    _check_shape(raw)
    try:
        size = len(json.dumps(raw, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (ValueError, TypeError, RecursionError) as error:  # unreachable after the walk
        raise MetadataError(f'"metadata" is not plain JSON ({type(error).__name__})') from error
    if size > MAX_METADATA_BYTES:
        raise MetadataError(
            f'"metadata" must be at most {MAX_METADATA_BYTES} bytes as JSON (it is {size})'
        )
    return raw


def _check_shape(root: dict[str, Any]) -> None:
    """Walk `root` without recursion (a deep value must not overflow this check either)."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_METADATA_DEPTH:
                raise MetadataError(
                    f'"metadata" must be nested at most {MAX_METADATA_DEPTH} levels deep'
                )
            if isinstance(value, dict):
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise MetadataError('"metadata" keys must be strings')
                    _check_text(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_text(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise MetadataError('"metadata" numbers must be finite (no NaN or Infinity)')
        elif value is not None and not isinstance(value, (bool, int)):
            raise MetadataError(f'"metadata" may hold only JSON values, not {type(value).__name__}')


def _check_text(text: str) -> None:
    if not encodable(text):
        raise MetadataError('"metadata" must not hold lone surrogates (\\ud800)')
