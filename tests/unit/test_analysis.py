"""One reading per message (`ldn_bot.analysis`): the cached path decides exactly as
parsing afresh at every step did, on samples of the corpus, long texts, threads and other
pipelines; the cache stays bounded. Every corpus text in every context, and one spaCy parse
per message through the trained model's NLU graph, are in
tests/integration/test_analysis_at_scale.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from corpus import corpus_texts

from ldn_bot.analysis import CACHE_CHARS, CACHE_SIZE, analyse, analyse_with
from ldn_bot.answering import lemmas
from ldn_bot.guard.detector import MAX_CHARS, GuardDetector, default_detector, detect
from ldn_bot.guard.normalize import normalize
from ldn_bot.guard.verdict import Category
from ldn_bot.nlp import pipeline


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return corpus_texts()


@pytest.fixture(scope="module")
def uncached() -> GuardDetector:
    """The same rules on the same pipeline, parsing afresh on every call."""
    return GuardDetector(pipeline())


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
