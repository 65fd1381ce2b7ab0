"""The language check end to end through the real assistant (`ldn-bot ask --json`): a
dose question in a language the assistant does not understand gets a doctor referral or
the fixed language reply, never an article answer, a scope message or "topic first";
English short messages and the five glossary languages keep their replies. `identify`
alone is in tests/unit/test_language.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ask_json import ask_json

from ldn_bot.settings import Settings

DATA = Path(__file__).parents[1] / "data"
OTHER = yaml.safe_load((DATA / "unsupported_language_doses.yml").read_text("utf-8"))["questions"]
GLOSSARY = yaml.safe_load((DATA / "supported_language_questions.yml").read_text("utf-8"))[
    "questions"
]
ENGLISH_SHORT = yaml.safe_load((DATA / "english_short.yml").read_text("utf-8"))["messages"]
REFERRAL_OR_LANGUAGE = {"doctor_referral", "emergency", "language"}


def _ask(cfg: Settings, lines: list[str], tmp: Path) -> list[dict[str, Any]]:
    objects, _ = ask_json(cfg, lines, tmp=tmp)
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
