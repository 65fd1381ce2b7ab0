"""One reading of a message, shared by every step that needs it.

The guard, the scope check, the answering step and the Rasa featurizer all read the
same message: normalised (`ldn_bot.guard.normalize`), parsed by the project's spaCy
pipeline (`ldn_bot.nlp`), reduced to lemmas. `analyse(text)` does that once per text
and remembers the last `CACHE_SIZE` texts, so a message is parsed once however many
steps look at it (plus once more for its words-only reading, when that differs and a
step asks for it).

An `Analysis` is shared between threads and callers: treat it, and its spaCy `Doc`s,
as read-only. The cache is safe to use from any thread (the guard runs on Rasa's event
loop and in the action server's threads); two threads asking for the same new text at
once may both parse it, and the first one stored wins.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from spacy.language import Language
from spacy.tokens import Doc

from ldn_bot.guard.normalize import normalize, words_only
from ldn_bot.nlp import pipeline

# Texts remembered. A message is read by the NLU process (featurizer, scope check,
# guard) and again by the action server (guard, answering), each within one turn; a
# few dozen would do.
CACHE_SIZE = 256
# And at most this many characters of them (a 20,000-character text's analysis takes
# about 0.6 MB): long texts, up to the guard's 20,000-character windows, push older
# entries out instead of piling up. A text longer than this is analysed, not kept.
CACHE_CHARS = 100_000


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a cache key
class Reading:
    """One form of a message and its parse.

    Attributes:
        text: the text parsed.
        doc: its spaCy Doc (read-only).
        lemmas: the lemma and the lower-case form of every token.
        words: `lemmas` plus the lower-case text and norm of every token (the typo
            fixer puts the corrected word in the norm).
    """

    text: str
    doc: Doc

    @cached_property
    def lemmas(self) -> frozenset[str]:
        """The lemma and the lower-case form of every token."""
        return frozenset(token.lemma_ for token in self.doc) | frozenset(
            token.lower_ for token in self.doc
        )

    @cached_property
    def words(self) -> frozenset[str]:
        """`lemmas` plus the lower-case text and norm of every token."""
        words = {w.lower() for token in self.doc for w in (token.lemma_, token.text, token.norm_)}
        return frozenset(words) | self.lemmas


@dataclass(frozen=True)
class Analysis:
    """What the assistant reads in one message.

    Attributes:
        text: the raw message.
        normal: `normalize(text)`, parsed: what the guard's rules, the scope check,
            the answering step and the NLU features read.
        nlp: the pipeline that parsed it.

    `bare` (the words-only reading) is computed on first use: the guard needs it only
    when the normalised reading did not already refer the message.
    """

    text: str
    normal: Reading
    nlp: Language

    @cached_property
    def bare(self) -> Reading | None:
        """`words_only(text)` ("how :much 🗺ldn?" is "how much ldn ?") and its parse,
        or None when it reads the same as the normalised text."""
        bare = words_only(self.text)
        if bare.removesuffix(" ?") == self.normal.text.rstrip("?!. "):
            return None
        return Reading(bare, self.nlp(bare))

    @cached_property
    def answer_lemmas(self) -> tuple[str, ...]:
        """Lemmas of the normalised text without punctuation, in order (topic matching
        and the scope check)."""
        return tuple(token.lemma_ for token in self.normal.doc if not token.is_punct)


def analyse_with(nlp: Language, text: str) -> Analysis:
    """The analysis of `text` by `nlp`, not cached."""
    normal = normalize(text)
    return Analysis(text=text, normal=Reading(normal, nlp(normal)), nlp=nlp)


class CacheInfo(NamedTuple):
    """The counts of `Analyser.cache_info`."""

    hits: int
    misses: int
    entries: int
    chars: int


class Analyser:
    """`analyse(text)`: the analysis by the shared pipeline, remembered in a
    least-recently-used cache bounded by `entries` texts and `chars` characters."""

    def __init__(self, entries: int = CACHE_SIZE, chars: int = CACHE_CHARS) -> None:
        self.max_entries = entries
        self.max_chars = chars
        self._items: OrderedDict[str, Analysis] = OrderedDict()
        self._chars = 0
        self._hits = 0
        self._misses = 0
        self._lock = threading.Lock()

    def __call__(self, text: str) -> Analysis:
        """The analysis of `text`, from the cache when it was read before."""
        with self._lock:
            found = self._items.get(text)
            if found is not None:
                self._items.move_to_end(text)
                self._hits += 1
                return found
            self._misses += 1
        analysis = analyse_with(pipeline(), text)  # outside the lock: the slow part
        if len(text) > self.max_chars:
            return analysis
        with self._lock:
            found = self._items.get(text)
            if found is not None:  # another thread got there first: share its analysis
                return found
            self._items[text] = analysis
            self._chars += len(text)
            while len(self._items) > self.max_entries or self._chars > self.max_chars:
                old, _ = self._items.popitem(last=False)
                self._chars -= len(old)
        return analysis

    def cache_clear(self) -> None:
        """Forget every analysis and reset the counts."""
        with self._lock:
            self._items.clear()
            self._chars = self._hits = self._misses = 0

    def cache_info(self) -> CacheInfo:
        """Hits and misses so far, and the entries and characters held now."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._items), self._chars)


analyse = Analyser()
"""The analysis of a text by the shared pipeline, remembered for the next step."""
