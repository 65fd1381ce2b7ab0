"""Is a message about the article at all? (`scope.yml` holds the vocabulary)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from enum import Enum
from functools import lru_cache
from pathlib import Path

import yaml
from spacy.lang.en.stop_words import STOP_WORDS

from ldn_bot.knowledge.article import Article

SCOPE_FILE = Path(__file__).with_name("scope.yml")
_WORD = re.compile(r"^[a-z][a-z'-]+$")
STEM_LETTERS = 7  # letters two words must share at the start to be forms of one word


class Scope(str, Enum):
    """Where a message stands with respect to the article."""

    IN_SCOPE = "in_scope"
    NOT_COVERED = "not_covered"
    OFF_TOPIC = "off_topic"
    UNKNOWN = "unknown"  # no word we know: gibberish or a language we do not read


class ScopeModel:
    """Vocabulary of the article plus domain terms, and terms the article does not cover."""

    def __init__(
        self,
        domain: frozenset[str],
        not_covered: frozenset[str],
        is_word: Callable[[str], bool] = lambda _w: True,
        neutral: frozenset[str] = frozenset(),
    ) -> None:
        self.domain = domain
        self.not_covered = not_covered
        self.is_word = is_word
        self.neutral = neutral
        self._stems = frozenset(_stem(word) for word in domain if len(word) >= STEM_LETTERS)

    def scope(self, lemmas: Iterable[str]) -> Scope:
        """Off-topic when no content word is in the domain; not covered when one names
        a subject the article does not address.

        Filler words ("ok", "actually", "then") are not content. A word sharing its first
        `STEM_LETTERS` letters with a domain word is another form of it ("anecdotes" and
        the article's "anecdotal", "progressing" and "progression")."""
        content = {
            lemma
            for lemma in lemmas
            if _WORD.match(lemma) and lemma not in STOP_WORDS and lemma not in self.neutral
        }
        if content & self.not_covered:
            return Scope.NOT_COVERED
        if content and not any(map(self._in_domain, content)):
            return Scope.OFF_TOPIC if any(map(self.is_word, content)) else Scope.UNKNOWN
        return Scope.IN_SCOPE

    def _in_domain(self, word: str) -> bool:
        return word in self.domain or (len(word) >= STEM_LETTERS and _stem(word) in self._stems)


def _stem(word: str) -> str:
    return word[:STEM_LETTERS]


@lru_cache(maxsize=2)
def scope_model(article: Article) -> ScopeModel:
    """Build the vocabulary from the article's lemmas and `scope.yml`, once."""
    from ldn_bot.guard.normalize import normalize
    from ldn_bot.nlp import is_known_word, pipeline

    raw = yaml.safe_load(SCOPE_FILE.read_text(encoding="utf-8"))
    nlp = pipeline()
    texts = [s.text for s in article.sentences] + [r.text for r in article.references]
    texts.append(article.citation)
    article_lemmas = {t.lemma_ for doc in nlp.pipe(normalize(t) for t in texts) for t in doc}
    not_covered = frozenset(str(w) for w in raw["not_covered_terms"])
    domain = (
        frozenset(article_lemmas) | frozenset(str(w) for w in raw["domain_terms"])
    ) - not_covered
    neutral = frozenset(str(w) for w in raw.get("neutral_terms", ()))
    return ScopeModel(
        domain=domain, not_covered=not_covered, is_word=is_known_word, neutral=neutral
    )
