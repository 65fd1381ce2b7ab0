"""What a message's form says before its words are read: empty, wordless or too long.

A value, not a reply: the NLU step in `rasa_project.nlu` turns a problem into an intent,
the rules in `data/rules.yml` into a response. The guard still reads every message,
whatever its form, and its verdict wins (a dose question in a 5,000-character message
gets the referral, not "too long").
"""

from __future__ import annotations

import unicodedata
from enum import Enum

MAX_MESSAGE_CHARS = 2000
"""Longer messages get a polite "please ask one short question" (after the guard)."""

NLU_CHARS = MAX_MESSAGE_CHARS
"""How much of a message the NLU featurizers read: enough for any message they answer,
and it keeps a 64 KB message from costing the classifier seconds. The guard reads all."""


class InputProblem(str, Enum):
    """Why a message cannot be answered as a question, whatever it says."""

    NO_WORDS = "no_words"
    """Empty, whitespace, control characters, emoji, symbols or punctuation only."""
    TOO_LONG = "too_long"
    """Over `MAX_MESSAGE_CHARS` characters."""


PROBLEM_INTENT = {InputProblem.NO_WORDS: "no_words", InputProblem.TOO_LONG: "too_long"}


def input_problem(text: str | None) -> InputProblem | None:
    """The problem with a message's form, or None when it can be read as a question."""
    stripped = (text or "").strip()
    if not any(_is_word_char(char) for char in stripped):
        return InputProblem.NO_WORDS
    if len(stripped) > MAX_MESSAGE_CHARS:
        return InputProblem.TOO_LONG
    return None


def _is_word_char(char: str) -> bool:
    """Letters and digits of any script (so Greek, Cyrillic or CJK questions are words)."""
    return unicodedata.category(char)[0] in "LN"


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with control, format and separator characters (newlines, escape sequences,
    bidi overrides, NUL) written as escapes, so it stays on one line where it is shown."""
    if text.isprintable():
        return text
    return "".join(_ESCAPES.get(char) or _escaped(char) for char in text)


def _escaped(char: str) -> str:
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
        return f"\\u{ord(char):04x}"
    return char


def encodable(text: str) -> bool:
    r"""False for strings JSON allows but UTF-8 cannot store (a lone `\ud800`)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
