"""The language check (issue 13 item 4): every language fails closed.

`identify` alone: a dose question in a language the assistant does not understand is not
supported; English short messages, mostly-English text and the five glossary languages
keep the full path. The replies of the real assistant are checked in
tests/integration/test_language_replies.py.

The questions are in tests/data/unsupported_language_doses.yml and
tests/data/supported_language_questions.yml, written for this (not the blind
tests/data/languages.yml).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ldn_bot import language
from ldn_bot.knowledge.article import load_article
from ldn_bot.language import identify
from ldn_bot.settings import settings

DATA = Path(__file__).parents[1] / "data"
OTHER = yaml.safe_load((DATA / "unsupported_language_doses.yml").read_text("utf-8"))["questions"]
GLOSSARY = yaml.safe_load((DATA / "supported_language_questions.yml").read_text("utf-8"))[
    "questions"
]

ENGLISH_SHORT = yaml.safe_load((DATA / "english_short.yml").read_text("utf-8"))["messages"]
MOSTLY_ENGLISH = [
    "is ldn the same as naltrexone",
    "what does the article say about fatigue",
    "can I split the pill, gracias",
    "how much ldn should I take, danke",
    "what is 纳曲酮 used for in ms",
    "my doctor in Warszawa said ldn could help",
]


def test_the_other_language_questions_cover_twenty_languages() -> None:
    assert len({q["lang"] for q in OTHER}) >= 20


@pytest.mark.parametrize("question", OTHER, ids=lambda q: f"{q['lang']}-{q['text'][:20]}")
def test_dose_question_in_another_language_is_not_supported(question: dict[str, str]) -> None:
    verdict = identify(question["text"])
    assert not verdict.supported, verdict
    assert verdict.language is None or verdict.language not in language.SUPPORTED


@pytest.mark.parametrize("question", GLOSSARY, ids=lambda q: f"{q['lang']}-{q['text'][:20]}")
def test_glossary_language_keeps_the_full_path(question: dict[str, str]) -> None:
    assert identify(question["text"]).supported


@pytest.mark.parametrize("text", ENGLISH_SHORT)
def test_short_english_and_drug_words_take_the_english_path(text: str) -> None:
    verdict = identify(text)
    assert verdict.supported
    assert verdict.reason in {"no_words", "english_words", "short"}


@pytest.mark.parametrize("text", MOSTLY_ENGLISH)
def test_mostly_english_with_a_foreign_word_takes_the_english_path(text: str) -> None:
    assert identify(text).supported


# English with rare medical words, typos or short chatty words, which the low-accuracy
# detector alone puts in Danish, Tagalog or Vietnamese.
ENGLISH_RARE_WORDS = [
    "does naltrexone cause thrombocytopenia or leukopenia",
    "whats the deal with endorfins and ldn",
    "neurologist recommended naltreksone, is it legit",
    "could it worsen my psoriasis",
    "lol ok cool cheers mate",
    "any interactions with gabapentin or baclofen",
    "who funded the research into this",
    "wat does compounded mean",
]


@pytest.mark.parametrize("text", ENGLISH_RARE_WORDS)
def test_english_with_rare_words_or_typos_takes_the_english_path(text: str) -> None:
    assert identify(text).supported


def test_the_articles_names_are_neutral() -> None:
    words = language.article_words(load_article(settings().article_path))
    assert "småbrekke" in words
    assert "is" not in words  # short words are words of other languages too
    assert identify("tell me what raknes and småbrekke wrote about it", words).supported


@pytest.mark.parametrize("text", ["dank je", "tack", "hvala lijepa", "dzięki", "kiitos paljon"])
def test_short_latin_script_text_in_another_language_takes_the_english_path(text: str) -> None:
    verdict = identify(text)
    assert verdict.supported
    assert verdict.reason in {"short", "english_words"}


@pytest.mark.parametrize(
    "text",
    ["naltrekson ne işe yarar?", "ldn nasıl çalışır", "jak działa ldn", "ldn på dansk?"],
)
def test_short_message_with_letters_no_supported_language_writes_is_not_english(
    text: str,
) -> None:
    verdict = identify(text)
    assert not verdict.supported
    assert verdict.reason == "other_letters"
    assert verdict.language not in language.SUPPORTED


@pytest.mark.parametrize(
    "text", ["qué es ldn?", "ça marche?", "wirkt LDN bei MS?", "é seguro?", "größe der pille?"]
)
def test_short_message_with_accents_of_the_glossary_languages_keeps_the_full_path(
    text: str,
) -> None:
    assert identify(text).supported


@pytest.mark.parametrize("text", ["", "   ", "!!!", "12345", "🙂🙂", None])
def test_no_words_take_the_english_path(text: str | None) -> None:
    assert identify(text).supported


@pytest.mark.parametrize(
    "text", ["спасибо большое", "謝謝你", "ありがとう", "شكرا جزيلا", "LDN 吃多少?", "Πόση LDN;"]
)
def test_another_script_is_not_supported_even_when_short(text: str) -> None:
    verdict = identify(text)
    assert not verdict.supported
    assert verdict.reason == "other_script"


def test_a_failing_detector_takes_the_english_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise RuntimeError("no models")

    monkeypatch.setattr(language, "detector", broken)
    verdict = identify("Hoeveel naltrexon mag ik per dag innemen volgens jullie?")
    assert verdict.supported
    assert verdict.reason == "error"


def test_the_detector_is_built_once() -> None:
    assert language.detector() is language.detector()


def test_verdict_as_dict_is_json_ready() -> None:
    data = identify("Kuinka paljon naltreksonia otetaan illalla?").as_dict()
    assert set(data) == {"language", "confidence", "supported", "reason"}
    json.dumps(data)
