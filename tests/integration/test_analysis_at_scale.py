"""The analysis cache at scale (`ldn_bot.analysis`): the cached path gives the verdict of
a fresh parse on every corpus text in every context (about 8,000 parses: too slow for the
unit layer), and one spaCy parse per message through the trained model's NLU graph, the
guard and the answering step. The cache on samples is in tests/unit/test_analysis.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from corpus import corpus_texts
from spacy.language import Language

from ldn_bot.analysis import analyse
from ldn_bot.answering import lemmas
from ldn_bot.guard.detector import GuardDetector, default_detector, detect
from ldn_bot.guard.normalize import normalize
from ldn_bot.guard.verdict import Category
from ldn_bot.nlp import pipeline


@pytest.fixture(scope="module")
def uncached() -> GuardDetector:
    """The same rules on the same pipeline, parsing afresh on every call."""
    return GuardDetector(pipeline())


def test_cached_detect_gives_the_uncached_verdict_on_every_corpus_text(
    uncached: GuardDetector,
) -> None:
    texts = corpus_texts()
    assert len(texts) > 2500
    analyse.cache_clear()
    for context in (None, Category.EMERGENCY, Category.DOSING):
        for text in texts:
            cached = detect(text, context=context)  # after the first round: from the cache
            assert cached == uncached.detect(text, context=context), (text, context)


@contextmanager
def counting_parses() -> Iterator[list[str]]:
    """Record the text of every spaCy parse (`nlp(text)` and `nlp.pipe(texts)`)."""
    parsed: list[str] = []
    call, pipe = Language.__call__, Language.pipe

    def counted_call(self: Language, text: Any, *args: Any, **kwargs: Any) -> Any:
        parsed.append(str(text))
        return call(self, text, *args, **kwargs)

    def counted_pipe(self: Language, texts: Any, *args: Any, **kwargs: Any) -> Any:
        for doc in pipe(self, texts, *args, **kwargs):
            parsed.append(doc.text)
            yield doc

    Language.__call__ = counted_call  # type: ignore[method-assign]
    Language.pipe = counted_pipe  # type: ignore[method-assign]
    try:
        yield parsed
    finally:
        Language.__call__ = call  # type: ignore[method-assign]
        Language.pipe = pipe  # type: ignore[method-assign]


MESSAGES = [
    "what does the article say about fatigue",  # an article question: scope check, answering
    "how many mg of ldn should i take at night",  # a dose question
    "how :much 🗺ldn do i take",  # symbols between words: a second, words-only reading
    "can i cut the 4.5 mg capsule in half",
    "tell me about side effects",
    "hello",
    "what is the weather in paris",
    "¿Cuántos miligramos tomo antes de dormir?",
]


@pytest.fixture(scope="module")
def agent(trained_model: Path) -> Any:
    from rasa.core.agent import Agent

    from ldn_bot.settings import Settings
    from rasa_project.training import quiet_rasa

    quiet_rasa(Settings.from_env())
    return Agent.load(str(trained_model))


@pytest.mark.parametrize("text", MESSAGES)
def test_one_parse_per_message_through_the_nlu_graph_guard_and_answering(
    agent: Any, text: str
) -> None:
    """The featurizer, the scope check, the guard (in the graph, and again in the action
    server with every context) and the answering step's lemmas share one parse."""
    for message in MESSAGES:  # the lazy loads (scope vocabulary, language detector)
        asyncio.run(agent.parse_message(message))
    analyse.cache_clear()
    with counting_parses() as parsed:
        result = asyncio.run(agent.parse_message(text))
        for context in (None, *Category):
            detect(text, context=context)
        lemmas(text)
    assert "guard" in result
    analysis = analyse(text)
    bare = analysis.__dict__.get("bare")  # the words-only reading, if a step asked for it
    assert parsed == [normalize(text)] + ([bare.text] if bare else []), parsed


def test_the_featurizer_and_the_guard_read_the_same_doc(agent: Any) -> None:
    text = "how often do people take ldn for ms"
    analyse.cache_clear()
    asyncio.run(agent.parse_message(text))
    doc = analyse(text).normal.doc
    assert default_detector().analyse(text).normal.doc is doc
