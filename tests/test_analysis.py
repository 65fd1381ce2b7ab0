"""One reading per message (`ldn_bot.analysis`): the cached path decides exactly as
parsing afresh at every step did, and a message goes through the NLU graph and the guard
with one spaCy parse (two when its words-only reading differs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from spacy.language import Language

from ldn_bot.analysis import CACHE_CHARS, CACHE_SIZE, analyse, analyse_with
from ldn_bot.answering import lemmas
from ldn_bot.guard.detector import MAX_CHARS, GuardDetector, default_detector, detect
from ldn_bot.guard.normalize import normalize
from ldn_bot.guard.verdict import Category
from ldn_bot.nlp import pipeline

ROOT = Path(__file__).resolve().parents[1]
DEV_FILE = ROOT.parent / "shared" / "data" / "medication-questions-dev.jsonl"


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def corpus_texts() -> list[str]:
    """Every string of tests/data/*.yml, the load questions and the dev file (when present)."""
    texts: list[str] = []
    for path in sorted((ROOT / "tests" / "data").glob("*.yml")):
        texts += _strings(yaml.safe_load(path.read_text(encoding="utf-8")))
    load = (ROOT / "tests" / "data" / "load_questions.txt").read_text(encoding="utf-8")
    texts += [line for line in load.splitlines() if line and not line.startswith("#")]
    if DEV_FILE.exists():
        for line in DEV_FILE.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return list(dict.fromkeys(t for t in texts if t))


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return corpus_texts()


@pytest.fixture(scope="module")
def uncached() -> GuardDetector:
    """The same rules on the same pipeline, parsing afresh on every call."""
    return GuardDetector(pipeline())


def test_cached_detect_gives_the_uncached_verdict_on_every_corpus_text(
    texts: list[str], uncached: GuardDetector
) -> None:
    assert len(texts) > 2500
    analyse.cache_clear()
    for context in (None, Category.EMERGENCY, Category.DOSING):
        for text in texts:
            cached = detect(text, context=context)  # after the first round: from the cache
            assert cached == uncached.detect(text, context=context), (text, context)


def test_cached_lemmas_are_the_lemmas_of_a_fresh_parse(texts: list[str]) -> None:
    for text in texts[::3]:
        fresh = [t.lemma_ for t in pipeline()(normalize(text)) if not t.is_punct]
        assert lemmas(text) == fresh, text


def test_long_text_is_still_read_in_windows_with_the_cache(uncached: GuardDetector) -> None:
    filler = "what is multiple sclerosis and how does ldn work in the body " * 400
    for text in (
        filler + "how many mg of ldn should i take",  # the question in the last window
        "how many mg of ldn should i take " + filler * 2,  # in the first one
        filler[: MAX_CHARS - 10] + "how many mg of ldn should i take" + filler,  # across two
    ):
        assert len(text) > MAX_CHARS
        verdict = detect(text)
        assert verdict.category is Category.DOSING, verdict
        assert verdict == uncached.detect(text)


def test_the_cache_is_bounded_in_texts() -> None:
    analyse.cache_clear()
    for n in range(CACHE_SIZE + 50):
        analyse(f"message number {n}")
    info = analyse.cache_info()
    assert info.entries == CACHE_SIZE
    assert info.misses == CACHE_SIZE + 50
    analyse(f"message number {CACHE_SIZE + 49}")
    assert analyse.cache_info().hits == 1


def test_the_cache_is_bounded_in_characters() -> None:
    analyse.cache_clear()
    for n in range(20):  # 20 texts of 20,000 characters: 400,000 characters
        analyse(f"{n} " + "is ldn safe in pregnancy " * 800)
    info = analyse.cache_info()
    assert 0 < info.chars <= CACHE_CHARS
    too_long = "a " * CACHE_CHARS
    assert analyse(too_long).text == too_long  # analysed, not kept
    assert analyse.cache_info().chars <= CACHE_CHARS
    assert too_long not in analyse._items


def test_words_only_reading_only_when_it_differs() -> None:
    plain = analyse("how much ldn should i take?")
    assert plain.bare is None
    symbols = analyse("how :much 🗺ldn should i take")
    assert symbols.bare is not None
    assert symbols.bare.text.startswith("how much ldn")


def test_detect_from_many_threads_agrees_with_one(texts: list[str]) -> None:
    sample = texts[::7]
    expected = [detect(t) for t in sample]
    analyse.cache_clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        rounds = [pool.map(detect, sample) for _ in range(3)]
        for results in rounds:
            assert list(results) == expected


def test_a_detector_on_another_pipeline_does_not_read_the_shared_cache() -> None:
    from ldn_bot.nlp import build_pipeline

    other = GuardDetector(build_pipeline())
    text = "how many mg of ldn should i take"
    assert other.analyse(text).normal.doc.vocab is other.nlp.vocab
    assert other.analyse(text).normal.doc is not analyse(text).normal.doc
    assert analyse_with(other.nlp, text).normal.text == analyse(text).normal.text


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


def test_rules_are_matched_once_per_reading_whatever_the_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A message read again (another context, a window of recent turns that repeats it,
    the action server's second key) reuses the rules that fired on its reading."""
    detector = default_detector()
    matched: list[str] = []
    fired_rules = detector._fired_rules

    def counted(reading: Any) -> Any:
        matched.append(reading.text)
        return fired_rules(reading)

    monkeypatch.setattr(detector, "_fired_rules", counted)
    analyse.cache_clear()
    text = "and for older people?"
    verdicts = {context: detect(text, context=context) for context in (None, *Category)}
    assert matched == [normalize(text)]
    assert verdicts[Category.DOSING].category is Category.DOSING  # the context still decides
    assert verdicts[None].category is Category.NONE


def test_an_uncached_detector_forgets_its_readings(uncached: GuardDetector) -> None:
    import gc

    for n in range(300):
        uncached.detect(f"how much ldn is in bottle number {n}")
    gc.collect()
    assert len(uncached._fired_on) < 10


def test_the_featurizer_reads_at_inference_what_it_read_in_training(texts: list[str]) -> None:
    """Training still parses `_preprocess_text` in batches; inference takes the shared
    analysis of the same first NLU_CHARS characters: the same text, the same tokens."""
    from rasa_project.nlu import SpacyNLP

    featurizer = SpacyNLP.create({}, None, None, None)  # type: ignore[arg-type]
    model = featurizer.provide().model
    for text in [*texts[::11], "x" * 2500 + " how much ldn", "how :much 🗺ldn"]:
        trained = next(model.pipe([featurizer._preprocess_text(text)]))
        served = featurizer._doc_for_text(model, text)
        assert [(t.text, t.lemma_, t.norm_) for t in served] == [
            (t.text, t.lemma_, t.norm_) for t in trained
        ], text
