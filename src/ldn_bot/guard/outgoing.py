"""The output guard on a whole outgoing message, whatever produced it.

A message a channel sends is more than its `text`: button and quick-reply titles
and payloads, custom JSON, attachments, images, elements and metadata all reach
the person (or their client). `check_outgoing()` walks every string in the message
(keys too) and checks each with `find_leak`, in two readings: as written, and
folded (HTML entities, URL escapes and tags undone, NFKC, invisible characters
dropped, transliterated) so "4.5&nbsp;mg", "4.5%20mg", "４.５ ｍｇ" or "4.5\u200bmg"
read as a dose. It also checks all the strings joined in order, so a dose split
across two fields ("take 4.5" on one button, "mg at night" on the next) is caught.

It fails closed: a message it cannot walk (too deep, too big, not JSON-like)
counts as a leak.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ldn_bot.guard.normalize import fold
from ldn_bot.guard.output import find_leak

UNWALKABLE = "unwalkable_message"
MAX_DEPTH = 12
MAX_STRINGS = 2_000
MAX_CHARS = 100_000
# Set by Rasa, never by an action: a float, not text.
_IGNORED_KEYS = frozenset({"timestamp"})
_TAG = re.compile(r"<[^<>]{0,200}>")
_MARKUP = re.compile(r"[*_~`|\\]+")
_SPACES = re.compile(r"\s+")
_KEY = " (key)"
_FIELD = re.compile(r"\[\d+\]")
_MESSAGE = re.compile(r"^messages\[(\d+)\]\.")
_SHOWN = {"text": 0, "buttons": 1, "quick_replies": 2, "elements": 3, "attachment": 4}


@dataclass(frozen=True)
class OutgoingLeak:
    """Why an outgoing message may not be sent.

    Attributes:
        rule: the `leaks.yml` rule that matched, `check_failed`, or `unwalkable_message`.
        where: the field it was found in (`text`, `buttons[1].title`, `custom.a[0]`,
            `(joined)` for a dose split across fields).
    """

    rule: str
    where: str


class _Unwalkable(Exception):
    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def check_outgoing(message: Mapping[str, Any]) -> OutgoingLeak | None:
    """The first leak in any string of `message`, or None when it may be sent."""
    try:
        strings = list(_strings(message))
    except _Unwalkable as error:
        return OutgoingLeak(UNWALKABLE, error.where)
    except Exception:  # whatever went wrong, the message does not go out
        return OutgoingLeak(UNWALKABLE, "(message)")
    readings = [(where, text, plain(text)) for where, text in strings]
    # A match in one string is also a match in any join of it (joined with spaces, its
    # word boundaries stay), so a clean message costs the joins alone; the single
    # strings are read only to say where a leak is. Each string is made plain on its
    # own, so markup in one string cannot hide another.
    for joined_where, joined in _joined(readings):
        rule = _leak_in(*joined)
        if rule is None:
            continue
        for where, text, plain_text in readings:
            single = _leak_in(text, plain_text)
            if single is not None:
                return OutgoingLeak(single, where)
        return OutgoingLeak(rule, joined_where)
    return None


_Reading = tuple[str, str, str]


def _joined(readings: list[_Reading]) -> Iterator[tuple[str, tuple[str, str]]]:
    """The strings read together, as a client may render them side by side: all of
    them, the values alone, and the values of each field name (every button title)."""
    yield "(joined)", _join(readings)
    values = [reading for reading in readings if not reading[0].endswith(_KEY)]
    yield "(joined values)", _join(values)
    yield "(joined as shown)", _join(sorted(values, key=_shown_order))
    by_field: dict[str, list[_Reading]] = {}
    for reading in values:
        by_field.setdefault(_FIELD.sub("", reading[0]).rsplit(".", 1)[-1], []).append(reading)
    for field, group in by_field.items():
        if len(group) > 1:
            yield f"(joined {field})", _join(group)


def _shown_order(reading: _Reading) -> tuple[int, int]:
    """Where a client shows a string: by message, then text above buttons above the rest."""
    match = _MESSAGE.match(reading[0])
    number = int(match.group(1)) if match else 0
    field = re.split(r"[.\[]", reading[0][match.end() if match else 0 :], maxsplit=1)[0]
    return number, _SHOWN.get(field, len(_SHOWN))


def _join(readings: list[_Reading]) -> tuple[str, str]:
    return " ".join(r[1] for r in readings), " ".join(r[2] for r in readings)


def _leak_in(text: str, plain_text: str) -> str | None:
    readings = (text,) if plain_text == text.lower() else (text, plain_text)  # case-blind
    for reading in readings:
        leak = find_leak(reading)
        if leak is not None:
            return leak.rule
    return None


def plain(text: str) -> str:
    """`text` as a person would read it once rendered: entities, escapes, tags and
    markdown undone, folded to plain lower-case ASCII."""
    text = unquote(html.unescape(text))
    text = _TAG.sub(" ", text)
    text = fold(text)
    text = _MARKUP.sub("", text)
    return _SPACES.sub(" ", text).strip()


def _strings(message: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if not isinstance(message, Mapping):
        raise _Unwalkable("(message)")
    budget = [MAX_STRINGS, MAX_CHARS]

    def take(where: str, text: str) -> tuple[str, str]:
        budget[0] -= 1
        budget[1] -= len(text)
        if budget[0] < 0 or budget[1] < 0:
            raise _Unwalkable(where)
        return where, text

    def walk(value: Any, where: str, depth: int) -> Iterator[tuple[str, str]]:
        if depth > MAX_DEPTH:
            raise _Unwalkable(where)
        if value is None or isinstance(value, bool):
            return
        if isinstance(value, str):
            if value:
                yield take(where, value)
        elif isinstance(value, (int, float)):
            yield take(where, repr(value))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise _Unwalkable(where)
                if depth == 0 and key in _IGNORED_KEYS and isinstance(item, (int, float)):
                    continue
                inner = f"{where}.{key}" if where else key
                yield take(inner + _KEY, key)
                yield from walk(item, inner, depth + 1)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                yield from walk(item, f"{where}[{index}]", depth + 1)
        else:
            raise _Unwalkable(where or "(message)")

    yield from walk(message, "", 0)
