"""Article-grounded answers: topics map to verbatim article text, with citations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path

import yaml
from spacy.lang.en.stop_words import STOP_WORDS

from ldn_bot.knowledge.article import Article, load_article
from ldn_bot.knowledge.sources import source_of

TOPICS_FILE = Path(__file__).with_name("topics.yml")
CITATION_UNIT = "citation"
ELISION = "…"  # marks words left out of a quote
MAX_ADDED = 2  # sentences a question can add to a topic's answer
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

    def __init__(
        self,
        article: Article,
        topics: Sequence[Topic],
        connectives: Sequence[str] = (),
        antecedents: Mapping[str, str] | None = None,
    ) -> None:
        self.article = article
        self.topics = {topic.id: topic for topic in topics}
        self.connectives = tuple(connectives)
        self.antecedents = dict(antecedents or {})
        self._idf_weights: dict[str, float] | None = None
        self._order = {sentence.id: n for n, sentence in enumerate(article.sentences)}
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
        """The topic an intent names, or None for any other intent."""
        return self._by_intent.get(intent or "")

    def answer(
        self,
        topic_id: str,
        *,
        more: bool = False,
        question: Iterable[str] = (),
        lemmatize: Callable[[str], Iterable[str]] | None = None,
    ) -> Answer | None:
        """The topic's answer, or its follow-up (`more=True`); None when nothing is left.

        Given the question's lemmas and `lemmatize`, the answer also quotes the sentences
        of the topic's `more` that name what the question asks and its `units` do not
        ("does it cause bleeding?": the sentence on bleeding), the rarest words first
        (TF-IDF), at most `MAX_ADDED`, each with the sentence it needs before it; all in
        the article's order.
        """
        topic = self.topics[topic_id]
        units = topic.more if more else topic.units
        if not more and lemmatize is not None:
            units = self._fitted(topic, set(question) - _STOP_WORDS, lemmatize)
        if not units:
            return None
        return self._compose(topic, units, more=more)

    def possible_answers(self) -> Iterator[Answer]:
        """Every answer `answer()` can give, whatever the question: the topics' answers,
        their follow-ups, and their answers with up to `MAX_ADDED` follow-up sentences."""
        for topic in self.topics.values():
            yield self._compose(topic, topic.units, more=False)
            if topic.more:
                yield self._compose(topic, topic.more, more=True)
            if not all(u.startswith("s") for u in (*topic.units, *topic.more)):
                continue
            extra = [u for u in topic.more if u not in topic.units]
            for size in range(1, MAX_ADDED + 1):
                for added in combinations(extra, size):
                    units = sorted((*topic.units, *added), key=self._order.__getitem__)
                    yield self._compose(topic, tuple(units), more=False)

    def _compose(self, topic: Topic, units: Sequence[str], *, more: bool) -> Answer:
        return Answer(
            topic=topic.id,
            text=self._quote(units),
            source=self._source(units, () if more else topic.references),
            citations=(*units, *([] if more else topic.references)),
            notes=() if more else topic.notes,
        )

    def _fitted(
        self, topic: Topic, asked: set[str], lemmatize: Callable[[str], Iterable[str]]
    ) -> tuple[str, ...]:
        if not asked or not all(u.startswith("s") for u in (*topic.units, *topic.more)):
            return topic.units
        words = {u: set(lemmatize(self.unit_text(u))) for u in (*topic.units, *topic.more)}
        covered = asked & set().union(*(words[u] for u in topic.units))
        chosen = list(topic.units)
        weight = self._idf(lemmatize)
        candidates = [u for u in topic.more if u not in chosen and asked & words[u] - covered]
        candidates.sort(key=lambda u: -sum(weight.get(w, 0.0) for w in asked & words[u]))
        for unit in candidates:
            if not asked & words[unit] - covered or unit in chosen:
                continue
            needed = self._needed(unit, chosen)
            if needed is None or len(chosen) + len(needed) + 1 - len(topic.units) > MAX_ADDED:
                continue
            if not set(needed) <= set(topic.more):
                continue
            chosen += [*needed, unit]
            covered |= asked & words[unit]
        return tuple(sorted(chosen, key=self._order.__getitem__))

    def _needed(self, unit: str, chosen: Sequence[str]) -> list[str] | None:
        """The sentences `unit` needs before it that are not in `chosen` (a chain: "similar
        results" needs "the study found", which needs "a study published in 2017")."""
        needed: list[str] = []
        while (before := self.antecedents.get(unit)) is not None and before not in chosen:
            if before in needed:
                return None
            needed.insert(0, before)
            unit = before
        return needed

    def _idf(self, lemmatize: Callable[[str], Iterable[str]]) -> dict[str, float]:
        """Each word's inverse document frequency over the article's sentences (TF-IDF,
        scikit-learn): the rarer a word, the more a sentence naming it answers."""
        if self._idf_weights is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            texts = [list(lemmatize(sentence.text)) for sentence in self.article.sentences]
            vectorizer = TfidfVectorizer(analyzer=lambda words: words).fit(texts)
            self._idf_weights = dict(
                zip(vectorizer.get_feature_names_out(), vectorizer.idf_, strict=True)
            )
        return self._idf_weights

    def _quote(self, units: Sequence[str]) -> str:
        """The units' verbatim text. A sentence that opens with a connective pointing at
        the sentence before it ("However,", "For example,") when that sentence is not
        quoted just before it loses the connective, marked by an elision: "…a study..."."""
        parts = []
        for position, unit in enumerate(units):
            text = self.unit_text(unit)
            follows = position > 0 and self._order.get(units[position - 1], -2) + 1 == (
                self._order.get(unit, -1)
            )
            opener = next((c for c in self.connectives if _opens_with(text, c)), None)
            if opener is not None and not follows:
                text = ELISION + text[len(opener) :].lstrip(", ")
            parts.append(text)
        return " ".join(parts)

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


def _opens_with(text: str, words: str) -> bool:
    return text.startswith(words) and text[len(words) : len(words) + 1] in {",", " "}


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


def load_topics(topics_path: Path = TOPICS_FILE) -> list[Topic]:
    """The topics of `topics.yml`, in file order (no article needed: for the rules generator)."""
    raw = yaml.safe_load(topics_path.read_text(encoding="utf-8"))
    return [_topic(topic_id, spec) for topic_id, spec in raw["topics"].items()]


@lru_cache(maxsize=4)
def knowledge_base(article_path: Path, topics_path: Path = TOPICS_FILE) -> KnowledgeBase:
    """Load the article and topics once per path."""
    raw = yaml.safe_load(topics_path.read_text(encoding="utf-8"))
    topics = load_topics(topics_path)
    connectives = [str(c) for c in raw.get("elide_connectives", ())]
    antecedents = {str(k): str(v) for k, v in (raw.get("antecedents") or {}).items()}
    return KnowledgeBase(load_article(article_path), topics, connectives, antecedents)
