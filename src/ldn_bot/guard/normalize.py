"""Undo the tricks people (and attackers) use to slip words past a filter.

`normalize()` folds a message to plain lower-case ASCII English-ish text before
the detector's spaCy pipeline sees it:

1. NFKC (full-width and compatibility forms), drop format characters
   (zero-width spaces and joiners, soft hyphens, bidi controls), set symbols apart
   from words;
2. transliterate to ASCII with `anyascii` (look-alike Cyrillic and Greek
   letters, accents, emoji names such as ``:pill:``);
3. join letters spelled out one at a time ("d o s e", "s-p-l-i-t");
4. undo digits used as letters inside words ("d0se", "spl1t") but keep
   amounts ("4.5mg", "50mg", "2x");
5. squeeze stretched letters ("dooose");
6. gloss foreign words and phrases to English (`rules/glossary.yml`).

The glossary, the separators, digits-as-letters, units and question marks
(`rules/normalize.yml`) and the trigger words re-joined when broken in two
(`rules/vocabulary.yml`) are data: extend them without touching this code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii

from ldn_bot.guard.rules_yaml import RULES_DIR, load_rules_yaml
from ldn_bot.guard.vocabulary import vocabulary

GLOSSARY_FILE = RULES_DIR / "glossary.yml"
TABLES_FILE = RULES_DIR / "normalize.yml"

_STRETCHED = re.compile(r"([a-z])\1{2,}")
_NUMBER_UNIT = re.compile(r"(\d)([a-z])")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """NFKC, drop invisible format characters, transliterate to lower-case ASCII.

    A non-ASCII symbol or punctuation mark stands apart from the words around it: an
    emoji becomes its name (":pill:"), a mark its ASCII form ("…" is "..."), and a
    symbol that transliterates to letters ("✓" is "v", "𝄞" is "G") a space, so none
    glues onto a word or reads as one ("✓much" must not read "vmuch"). Dashes and
    quotes stay in place.
    """
    text = unicodedata.normalize("NFKC", text)
    return anyascii("".join(map(_fold_char, text))).lower()


_DROPPED = frozenset({"Cf", "Cc", "Mn"})
_APART = frozenset({"Sm", "Sc", "Sk", "So", "Po", "Ps", "Pe"})


def _fold_char(char: str) -> str:
    if char.isascii():
        return char if char.isprintable() or char in "\n\t" else ""
    category = unicodedata.category(char)
    if category in _DROPPED:
        return ""
    if category not in _APART:
        return char
    ascii_form = anyascii(char)
    if ascii_form.startswith(":"):
        return f" {ascii_form.replace('_', '-')} "  # an emoji's name: ":pill:", ":world-map:"
    if not any(c.isalnum() for c in ascii_form):
        return f" {ascii_form} "  # punctuation: "..." for "…"
    return " "  # a symbol spelled with letters ("G" for 𝄞, "TM", "v" for ✓) is noise


def words_only(text: str) -> str:
    """`normalize(text)` without the symbols, emoji and punctuation between its words
    ("how :much 🗺ldn?" is "how much ldn ?"). Marks inside a word or number ("4.5",
    "low-dose", "don't") stay, and a question mark at the end if the text asked."""
    asked = any(char in _tables().question_marks for char in text)  # some rules need to know
    words = _MARKS.sub(_without_mark, normalize(_MARKS.sub(_without_mark, text)))
    words = _SPACES.sub(" ", words).strip()
    return f"{words} ?" if asked else words


def _without_mark(match: re.Match[str]) -> str:
    """A run of marks next to a space goes; between two letters, invisible characters
    go, a word's own ASCII marks, dashes and quotes stay, and anything else ("how😍much")
    becomes a space."""
    text, start, end = match.string, match.start(), match.end()
    if start == 0 or end == len(text) or text[start - 1].isspace() or text[end].isspace():
        return ""
    run = "".join(c for c in match.group(0) if unicodedata.category(c) not in _DROPPED)
    return run if all(c.isascii() or unicodedata.category(c) in _IN_WORD for c in run) else " "


_MARKS = re.compile(r"(?:[^\w\s]|_)+")  # "_" too: \w counts it as a letter
_IN_WORD = frozenset({"Pd", "Pi", "Pf"})


def _join_spelled_out(match: re.Match[str]) -> str:
    letters = _tables().separators.sub("", match.group(0))
    if sum(ch.isalpha() for ch in letters) < 2:
        return match.group(0)  # "0.5 1 3" are amounts, not a spelled-out word
    return letters


def _join_split_words(text: str) -> str:
    """Re-join a trigger word broken in two ("dos age", "tab let")."""
    triggers = vocabulary().trigger_words
    words = text.split(" ")
    out: list[str] = []
    i = 0
    while i < len(words):
        if i + 1 < len(words) and words[i].isalpha() and words[i + 1].isalpha():
            joined = words[i] + words[i + 1]
            if len(words[i]) <= 6 and (joined in triggers or joined in _glossary()[1]):
                out.append(joined)
                i += 2
                continue
        out.append(words[i])
        i += 1
    return " ".join(out)


def _deleet_word(match: re.Match[str]) -> str:
    word = match.group(0)
    tables = _tables()
    if tables.amount.match(word) or word.isdigit() or word.isalpha():
        return word
    return word.translate(tables.leet)


@dataclass(frozen=True)
class _Tables:
    """`rules/normalize.yml`, compiled."""

    spelled_out: re.Pattern[str]  # a word spelled out, one separator between its letters
    separators: re.Pattern[str]
    word: re.Pattern[str]  # letters, digits and the symbols read as letters
    leet: dict[int, str]
    amount: re.Pattern[str]  # a number with an optional unit: "4.5mg", "2x", "3rd"
    question_marks: frozenset[str]


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    raw = load_rules_yaml(TABLES_FILE)
    separator = "[" + "".join(map(re.escape, str(raw["spelled_out_separators"]))) + "]"
    leet = {str(digit): str(letter) for digit, letter in raw["leet"].items()}
    symbols = "".join(re.escape(char) for char in leet if not char.isalnum())
    units = "|".join(re.escape(str(unit)) for unit in raw["amount_units"])
    return _Tables(
        spelled_out=re.compile(
            rf"(?<![a-z0-9])[a-z0-9]({separator})(?:[a-z0-9]\1)+[a-z0-9](?![a-z0-9])"
        ),
        separators=re.compile(separator),
        word=re.compile(rf"[a-z0-9{symbols}]+"),
        leet=str.maketrans(leet),
        amount=re.compile(rf"^\d+(?:[.,]\d+)?(?:{units})?$"),
        question_marks=frozenset(str(raw["question_marks"])),
    )


@lru_cache(maxsize=1)
def _glossary() -> tuple[re.Pattern[str], dict[str, str]]:
    triggers = vocabulary().trigger_words
    raw = load_rules_yaml(GLOSSARY_FILE)
    mapping: dict[str, str] = {}
    for _language, entries in raw["languages"].items():
        for english, forms in entries.items():
            for form in forms:
                folded = fold(str(form))
                if folded != english and folded not in triggers:
                    mapping[folded] = english
    alternatives = sorted(mapping, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(a) for a in alternatives) + r")\b")
    return pattern, mapping


def gloss(text: str) -> str:
    """Replace foreign words and phrases by their English gloss."""
    pattern, mapping = _glossary()
    return pattern.sub(lambda m: mapping[m.group(0)], text)


def normalize(text: str) -> str:
    """Fold a message to the plain form the detector's patterns are written for."""
    text = fold(text)
    text = _tables().spelled_out.sub(_join_spelled_out, text).replace("_", " ")
    text = _SPACES.sub(" ", text)  # after spelled-out words, which double spaces delimit
    text = _tables().word.sub(_deleet_word, text)
    text = _STRETCHED.sub(r"\1\1", text)
    text = _join_split_words(text)
    text = _NUMBER_UNIT.sub(r"\1 \2", text)
    text = gloss(text)
    return _SPACES.sub(" ", text).strip()
