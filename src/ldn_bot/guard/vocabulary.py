"""The guard's vocabulary (`rules/vocabulary.yml`), read once per process.

The words the guard's rules hinge on are data: the spaCy pipeline's typo fixer
(`ldn_bot.nlp`) corrects misspellings of them, and the normaliser re-joins them
when broken in two. This module only reads the file; it imports no spaCy, so the
normaliser stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from ldn_bot.guard.rules_yaml import RULES_DIR, load_rules_yaml

VOCABULARY_FILE = RULES_DIR / "vocabulary.yml"


@dataclass(frozen=True)
class Vocabulary:
    """The words of `rules/vocabulary.yml` (see its comments).

    Attributes:
        trigger_words: words the guard's rules hinge on; misspellings are corrected.
        foreign_triggers: foreign trigger words, with the English lemma each reads as.
        lemma_overrides: lemmas that win over the lookup table's.
    """

    trigger_words: frozenset[str]
    foreign_triggers: Mapping[str, str]
    lemma_overrides: Mapping[str, str]


def _word_map(raw: Mapping[object, object]) -> Mapping[str, str]:
    return MappingProxyType({str(key): str(value) for key, value in raw.items()})


def load_vocabulary(path: Path = VOCABULARY_FILE) -> Vocabulary:
    """Read a vocabulary file."""
    raw = load_rules_yaml(path)
    return Vocabulary(
        trigger_words=frozenset(str(word) for word in raw["trigger_words"]),
        foreign_triggers=_word_map(raw["foreign_triggers"]),
        lemma_overrides=_word_map(raw["lemma_overrides"]),
    )


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The project's vocabulary, read once per process."""
    return load_vocabulary()
