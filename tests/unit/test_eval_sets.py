"""Schema checks for the blind evaluation sets (no model, no assistant run).

The three files in tests/data/ were written blind, before the guard was made
conversation-aware and multilingual; these checks only keep them well-formed
(valid routes, categories, topics and languages; minimum counts; unique ids),
they say nothing about how well the assistant does on them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from ldn_bot.routing import Route

DATA = Path(__file__).parents[1] / "data"
TOPICS_FILE = Path(__file__).parents[2] / "src" / "ldn_bot" / "knowledge" / "topics.yml"

ROUTES = {route.value for route in Route} | {"language"}
REFERRALS = {"doctor_referral", "emergency"}
CATEGORIES = {"dosing", "pill_splitting", "personal_advice", "emergency"}
KINDS = (
    "follow_up",
    "persistence",
    "split",
    "after_answer",
    "context_switch",
    "emergency",
    "language",
    "harmless",
)
TURN_KEYS = {"user", "expect", "category", "topic", "note"}
SUPPORTED = {"es", "fr", "de", "it", "pt"}
BIG_TOPICS = (
    "effectiveness",
    "side_effects",
    "safety",
    "mechanism",
    "naltrexone",
    "off_label",
    "fda_approval",
    "study_2017",
    "study_longterm",
)


def _load(name: str) -> Any:
    with (DATA / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def topics() -> set[str]:
    with TOPICS_FILE.open(encoding="utf-8") as handle:
        return set(yaml.safe_load(handle)["topics"])


@pytest.fixture(scope="module")
def conversations() -> list[dict[str, Any]]:
    return _load("conversations.yml")["conversations"]


@pytest.fixture(scope="module")
def questions() -> list[dict[str, Any]]:
    return _load("article_questions.yml")["questions"]


@pytest.fixture(scope="module")
def languages() -> list[dict[str, Any]]:
    return _load("languages.yml")["questions"]


def _check_topic(topic: Any, topics: set[str], where: str) -> None:
    values = _as_list(topic)
    assert values, f"{where}: empty topic"
    for value in values:
        assert value in topics, f"{where}: unknown topic {value!r}"


def test_conversation_schema(conversations: list[dict[str, Any]], topics: set[str]) -> None:
    ids = [conversation["id"] for conversation in conversations]
    duplicates = [key for key, count in Counter(ids).items() if count > 1]
    assert not duplicates, f"duplicate ids: {duplicates}"
    for conversation in conversations:
        cid = conversation["id"]
        assert set(conversation) == {"id", "kind", "turns"}, cid
        assert conversation["kind"] in KINDS, cid
        assert conversation["turns"], cid
        for number, turn in enumerate(conversation["turns"], 1):
            where = f"{cid} turn {number}"
            assert set(turn) <= TURN_KEYS, f"{where}: unknown keys {set(turn) - TURN_KEYS}"
            assert isinstance(turn["user"], str) and turn["user"].strip(), where
            expect = _as_list(turn["expect"])
            assert expect and len(set(expect)) == len(expect), where
            assert set(expect) <= ROUTES, f"{where}: unknown route in {expect}"
            if "category" in turn:
                assert turn["category"] in CATEGORIES, where
                assert set(expect) & REFERRALS, f"{where}: category without a referral route"
            if set(expect) & REFERRALS:
                assert "category" in turn, f"{where}: referral without a category"
            if "emergency" in expect:
                assert turn["category"] == "emergency", where
            if "topic" in turn:
                assert "article_answer" in expect, f"{where}: topic without article_answer"
                _check_topic(turn["topic"], topics, where)


def test_conversation_counts(conversations: list[dict[str, Any]]) -> None:
    assert len(conversations) >= 70
    turns = [turn for conversation in conversations for turn in conversation["turns"]]
    assert len(turns) >= 200
    kinds = Counter(conversation["kind"] for conversation in conversations)
    for kind in KINDS:
        assert kinds[kind] >= 6, f"{kind}: {kinds[kind]} conversations"
    multi = sum(len(conversation["turns"]) >= 3 for conversation in conversations)
    assert multi >= len(conversations) // 2
    harmless = [turn for turn in turns if not set(_as_list(turn["expect"])) & REFERRALS]
    assert len(harmless) / len(turns) >= 0.45


def test_conversation_kinds_are_what_they_say(conversations: list[dict[str, Any]]) -> None:
    for conversation in conversations:
        kind = conversation["kind"]
        expects = [set(_as_list(turn["expect"])) for turn in conversation["turns"]]
        if kind == "harmless":
            assert not any(expect & REFERRALS for expect in expects), conversation["id"]
        elif kind == "emergency":
            assert any("emergency" in expect for expect in expects) or all(
                not expect & REFERRALS for expect in expects
            ), conversation["id"]
        elif kind == "language":
            assert any("language" in expect for expect in expects), conversation["id"]
        else:
            assert any("doctor_referral" in expect for expect in expects), conversation["id"]
        if kind == "persistence":
            first = next(i for i, e in enumerate(expects) if "doctor_referral" in e)
            for turn in conversation["turns"][first + 1 :]:
                if "note" not in turn and "doctor_referral" not in _as_list(turn["expect"]):
                    # only closing small talk may follow the referral in a persistence run
                    assert _as_list(turn["expect"]) == ["smalltalk"], conversation["id"]


def test_article_questions(questions: list[dict[str, Any]], topics: set[str]) -> None:
    assert len(questions) >= 320
    texts = [question["text"].strip().lower() for question in questions]
    duplicates = [text for text, count in Counter(texts).items() if count > 1]
    assert not duplicates, duplicates
    per_topic: Counter[str] = Counter()
    for question in questions:
        assert set(question) <= {"text", "topic", "note"}, question
        assert question["text"].strip(), question
        _check_topic(question["topic"], topics, question["text"])
        for value in _as_list(question["topic"]):
            per_topic[value] += 1
    for topic in topics:
        assert per_topic[topic] >= 8, f"{topic}: {per_topic[topic]}"
    for topic in BIG_TOPICS:
        assert per_topic[topic] >= 15, f"{topic}: {per_topic[topic]}"


def test_languages(languages: list[dict[str, Any]]) -> None:
    texts = [item["text"].strip() for item in languages]
    duplicates = [text for text, count in Counter(texts).items() if count > 1]
    assert not duplicates, duplicates
    by_lang: dict[str, Counter[str]] = {}
    for item in languages:
        assert set(item) <= {"text", "lang", "kind", "note"}, item
        assert item["kind"] in {"dosing", "pill_splitting", "harmless"}, item
        lang = item["lang"]
        assert isinstance(lang, str) and len(lang) == 2 and lang.islower(), item
        assert lang != "en", item
        by_lang.setdefault(lang, Counter())[item["kind"]] += 1
    others = {lang: kinds for lang, kinds in by_lang.items() if lang not in SUPPORTED}
    assert len(others) >= 22, sorted(others)
    for lang, kinds in others.items():
        assert kinds["dosing"] + kinds["pill_splitting"] >= 3, lang
        assert kinds["dosing"] >= 1 and kinds["pill_splitting"] >= 1, lang
        assert kinds["harmless"] >= 2, lang
    for lang in SUPPORTED:
        kinds = by_lang.get(lang, Counter())
        for kind in ("dosing", "pill_splitting", "harmless"):
            assert kinds[kind] >= 5, f"{lang} {kind}: {kinds[kind]}"
