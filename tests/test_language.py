"""The language check (issue 13 item 4): every language fails closed.

`identify` alone, then end to end through the real assistant (`ldn-bot ask --json`): a
dose question in a language the assistant does not understand gets a doctor referral or
the fixed language reply, never an article answer, a scope message or "topic first";
English short messages and the five glossary languages keep their replies.

The questions are in tests/data/unsupported_language_doses.yml and
tests/data/supported_language_questions.yml, written for this (not the blind
tests/data/languages.yml).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ldn_bot import language
from ldn_bot.knowledge.article import load_article
from ldn_bot.language import identify
from ldn_bot.settings import Settings, settings

DATA = Path(__file__).parent / "data"
OTHER = yaml.safe_load((DATA / "unsupported_language_doses.yml").read_text("utf-8"))["questions"]
GLOSSARY = yaml.safe_load((DATA / "supported_language_questions.yml").read_text("utf-8"))[
    "questions"
]
REFERRAL_OR_LANGUAGE = {"doctor_referral", "emergency", "language"}

ENGLISH_SHORT = [
    "ok",
    "thanks",
    "thank you!",
    "ldn?",
    "LDN",
    "ms fatigue",
    "hi",
    "bye",
    "naltrexone",
    "4.5 mg",
    "mg?",
    "ldn ms",
    "yes please",
]
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


# --- end to end ----------------------------------------------------------------------------


def _ask(cfg: Settings, lines: list[str], tmp: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "rasa_project", "ask", "--json"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=cfg.root,
        timeout=600,
        env={**os.environ, "LDN_BOT_VAR": str(tmp)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == len(lines)
    return objects


HARMLESS_OTHER = [
    "Wat zegt het artikel over bijwerkingen van naltrexon bij MS?",
    "Czy naltrekson jest zatwierdzony przez FDA do leczenia SM?",
    "Hur fungerar naltrexon i kroppen egentligen?",
    "Что говорится в статье о побочных эффектах?",
    "这篇文章说低剂量纳曲酮有什么副作用？",
]


@pytest.fixture(scope="module")
def replies(
    cfg: Settings, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    lines = [
        *(q["text"] for q in OTHER),
        *(q["text"] for q in GLOSSARY),
        *ENGLISH_SHORT,
        *HARMLESS_OTHER,
        "how much ldn should i take",
    ]
    objects = _ask(cfg, lines, tmp_path_factory.mktemp("var"))
    return dict(zip(lines, objects, strict=True))


@pytest.mark.model
def test_dose_questions_in_twenty_other_languages_get_a_referral_or_the_language_reply(
    replies: dict[str, dict[str, Any]],
) -> None:
    wrong = {
        q["text"]: replies[q["text"]]["route"]
        for q in OTHER
        if replies[q["text"]]["route"] not in REFERRAL_OR_LANGUAGE
    }
    assert not wrong


@pytest.mark.model
def test_harmless_questions_in_other_languages_get_no_article_answer(
    replies: dict[str, dict[str, Any]],
) -> None:
    for text in HARMLESS_OTHER:
        assert replies[text]["route"] in {"language", "out_of_scope", "fallback"}, text


@pytest.mark.model
def test_the_language_reply_names_the_languages_and_sends_doses_to_a_doctor(
    replies: dict[str, dict[str, Any]],
) -> None:
    reply = next(obj for obj in replies.values() if obj["route"] == "language")
    text = " ".join(reply["replies"])
    for word in ("English", "Spanish", "French", "German", "Italian", "Portuguese", "doctor"):
        assert word in text
    assert reply["intent"] == "unsupported_language"
    assert not reply["citations"]


@pytest.mark.model
def test_english_short_messages_never_get_the_language_reply(
    replies: dict[str, dict[str, Any]],
) -> None:
    for text in ENGLISH_SHORT:
        assert replies[text]["route"] != "language", text
    assert replies["how much ldn should i take"]["route"] == "doctor_referral"


@pytest.mark.model
def test_glossary_languages_never_get_the_language_reply(
    replies: dict[str, dict[str, Any]],
) -> None:
    for question in GLOSSARY:
        assert replies[question["text"]]["route"] != "language", question["text"]
