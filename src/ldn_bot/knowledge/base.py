"""Article-grounded answers: topics map to verbatim article text, with citations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from spacy.lang.en.stop_words import STOP_WORDS

from ldn_bot.knowledge.article import Article, load_article
from ldn_bot.knowledge.sources import source_of

TOPICS_FILE = Path(__file__).with_name("topics.yml")
CITATION_UNIT = "citation"
_STOP_WORDS = frozenset(STOP_WORDS) | {"ldn", "naltrexone", "ms", "low", "dose", "?", ",", "."}


@dataclass(frozen=True)
class Topic:
    """One answerable topic (see `topics.yml`)."""

    id: str
    intent: str
    units: tuple[str, ...]
    more: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    keywords: frozenset[str] = frozenset()
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    """An answer: article text (verbatim units), the ids it used, and a citation line.

    Attributes:
        topic: id of the topic answered.
        text: the quoted article text.
        source: the plain source line (publication, date, cited studies).
        citations: the unit ids used (`s..`, `r..`, `citation`).
        notes: domain responses to send after the answer.
    """

    topic: str
    text: str
    source: str
    citations: tuple[str, ...]
    notes: tuple[str, ...] = ()


class KnowledgeBase:
    """Answers topics from the article; knows nothing of Rasa."""

    def __init__(self, article: Article, topics: Sequence[Topic]) -> None:
        self.article = article
        self.topics = {topic.id: topic for topic in topics}
        self._weights: dict[str, dict[str, int]] | None = None
        self._by_intent = {topic.intent: topic for topic in topics}
        for topic in topics:
            for unit in (*topic.units, *topic.more, *topic.references):
                self.unit_text(unit)  # fail at start-up on a bad id, not mid-conversation

    def unit_text(self, unit: str) -> str:
        """The verbatim text of a sentence, reference or the citation."""
        if unit == CITATION_UNIT:
            return self.article.citation
        if unit.startswith("r"):
            return self.article.reference(unit).text
        return self.article.sentence(unit).text

    def topic_for_intent(self, intent: str | None) -> Topic | None:
        return self._by_intent.get(intent or "")

    def answer(self, topic_id: str, *, more: bool = False) -> Answer | None:
        """The topic's answer, or its follow-up (`more=True`); None when nothing is left."""
        topic = self.topics[topic_id]
        units = topic.more if more else topic.units
        if not units:
            return None
        return Answer(
            topic=topic.id,
            text=" ".join(self.unit_text(unit) for unit in units),
            source=self._source(units, () if more else topic.references),
            citations=(*units, *([] if more else topic.references)),
            notes=() if more else topic.notes,
        )

    def best_topic(
        self,
        lemmas: Iterable[str],
        *,
        lemmatize: Callable[[str], Iterable[str]] | None = None,
        min_score: int = 2,
    ) -> Topic | None:
        """The topic the message shares most words with, if clearly ahead.

        A topic's keywords count 2, words of its sentences 1 (when `lemmatize`
        is given). Used when the NLU is unsure: a weak or tied match gives None
        so the caller falls back instead of guessing.
        """
        words = set(lemmas) - _STOP_WORDS
        scored = sorted(
            (
                (sum(weights.get(word, 0) for word in words), topic_id)
                for topic_id, weights in self._topic_weights(lemmatize).items()
            ),
            reverse=True,
        )
        (best, best_id), (runner_up, _) = scored[0], scored[1]
        if best >= min_score and best > runner_up:
            return self.topics[best_id]
        return None

    def _topic_weights(
        self, lemmatize: Callable[[str], Iterable[str]] | None
    ) -> dict[str, dict[str, int]]:
        if lemmatize is None:
            return {t.id: dict.fromkeys(t.keywords, 2) for t in self.topics.values()}
        if self._weights is None:
            weights: dict[str, dict[str, int]] = {}
            for topic in self.topics.values():
                sentence_words = {
                    w for unit in topic.units for w in lemmatize(self.unit_text(unit))
                } - _STOP_WORDS
                weights[topic.id] = {
                    **dict.fromkeys(sentence_words, 1),
                    **dict.fromkeys(topic.keywords, 2),
                }
            self._weights = weights
        return self._weights

    def _source(self, units: Sequence[str], references: Sequence[str]) -> str:
        """The plain source line (`ldn_bot.knowledge.sources`): publication and date, and
        the references cited; channels that can link add the link to the passage."""
        return source_of(self.article, (*units, *references)).plain()


def _topic(topic_id: str, raw: dict) -> Topic:
    return Topic(
        id=topic_id,
        intent=raw["intent"],
        units=tuple(raw["units"]),
        more=tuple(raw.get("more", ())),
        references=tuple(raw.get("references", ())),
        notes=tuple(raw.get("notes", ())),
        keywords=frozenset(str(word) for word in raw.get("keywords", ())),
        subjects=tuple(str(name) for name in raw.get("subjects", ())),
    )


@lru_cache(maxsize=4)
def knowledge_base(article_path: Path, topics_path: Path = TOPICS_FILE) -> KnowledgeBase:
    """Load the article and topics once per path."""
    raw = yaml.safe_load(topics_path.read_text(encoding="utf-8"))
    topics = [_topic(topic_id, spec) for topic_id, spec in raw["topics"].items()]
    return KnowledgeBase(load_article(article_path), topics)
