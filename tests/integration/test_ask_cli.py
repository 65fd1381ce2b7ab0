"""End to end: `ldn-bot ask --json` against the trained model, as scripts (and
the held-out evaluation) use it: one JSON object per input line, in order."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ask_json import ask_json

from ldn_bot.settings import Settings

pytestmark = pytest.mark.model

KEYS = {
    "question",
    "replies",
    "route",
    "intent",
    "confidence",
    "citations",
    "guard_rule",
    "guard_source",
}
ROUTES = {"doctor_referral", "emergency", "article_answer", "out_of_scope", "smalltalk", "fallback"}


def ask(cfg: Settings, lines: list[str], *args: str, tmp: Path) -> tuple[list[dict[str, Any]], str]:
    return ask_json(cfg, lines, *args, tmp=tmp)


@pytest.fixture(scope="module")
def batch(
    cfg: Settings, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, Any]]:
    lines = [
        "how much LDN should I take?",
        "what is naltrexone approved for?",
        "can I cut a 50 mg tablet?",
        "",
        "hello",
        "I took 30 of my pills and my chest hurts",
        "what's the capital of France?",
        "d o s e   for ldn??",
        "what are the side effects of naltrexone?",
        "\u202e<script>alert(1)</script>",
    ]
    objects, _ = ask(cfg, lines, tmp=tmp_path_factory.mktemp("var"))
    assert len(objects) == len(lines)
    return objects


def test_every_line_gets_exactly_one_object_in_order(batch: list[dict[str, Any]]) -> None:
    for obj in batch:
        assert set(obj) == KEYS
        assert obj["route"] in ROUTES
        assert isinstance(obj["replies"], list) and all(isinstance(r, str) for r in obj["replies"])
        assert obj["replies"], obj
    assert batch[3]["question"] == ""


def test_the_three_questions_of_the_brief(batch: list[dict[str, Any]]) -> None:
    dose, fda, cut = batch[0], batch[1], batch[2]
    assert dose["route"] == "doctor_referral" and "doctor" in dose["replies"][-1]
    assert fda["route"] == "article_answer" and fda["citations"] == ["s08", "s09"]
    assert "alcohol dependence" in fda["replies"][-1] and "Source:" in fda["replies"][-1]
    assert cut["route"] == "doctor_referral"
    assert "avoid splitting higher dose pills" in cut["replies"][-1]


def test_other_routes(batch: list[dict[str, Any]]) -> None:
    assert batch[3]["route"] == "fallback"
    assert batch[4]["route"] == "smalltalk"
    assert batch[5]["route"] == "emergency"
    assert batch[6]["route"] == "out_of_scope"
    assert batch[7]["route"] == "doctor_referral"
    assert batch[8]["route"] == "article_answer" and batch[8]["citations"]
    assert batch[9]["route"] in ROUTES and batch[9]["replies"]


def test_first_reply_carries_the_disclaimer_and_nothing_echoes_the_user(
    batch: list[dict[str, Any]],
) -> None:
    for obj in batch:
        assert "not medical advice" in obj["replies"][0]
        if len(obj["question"]) > 3:
            assert all(obj["question"] not in reply for reply in obj["replies"])


def test_session_continues_one_conversation(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    lines = ["what did the 2017 study find?", "tell me more", "and at night?"]
    objects, _ = ask(cfg, lines, "--session", "e2e-session", tmp=tmp_path)
    assert [o["route"] for o in objects] == ["article_answer", "article_answer", "doctor_referral"]
    assert objects[1]["citations"] == ["s24", "s25", "s26"]
    assert "not medical advice" not in " ".join(objects[1]["replies"])
    assert (tmp_path / "conversations.sqlite").exists()


def test_questions_can_come_as_arguments(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rasa_project", "ask", "what is thrombocytopenia?"],
        capture_output=True,
        text=True,
        cwd=cfg.root,
        timeout=600,
        env={**__import__("os").environ, "LDN_BOT_VAR": str(tmp_path)},
    )
    assert result.returncode == 0
    assert "uncontrollable bleeding" in result.stdout and "[article_answer]" in result.stdout


def test_plain_ask_prints_the_disclaimer_once_per_run(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    """Each line is its own conversation and each began with the disclaimer: printed
    under every question, it buried the answers."""
    result = subprocess.run(
        [sys.executable, "-m", "rasa_project", "ask"],
        input="hello\nwhat is naltrexone approved for?\nhow much LDN should I take?\n",
        capture_output=True,
        text=True,
        cwd=cfg.root,
        timeout=600,
        env={**__import__("os").environ, "LDN_BOT_VAR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("not medical advice") == 1
    assert result.stdout.index("not medical advice") < result.stdout.index("> hello")
    assert result.stdout.count("> ") == 3 and "[doctor_referral]" in result.stdout
    assert "Processed" not in result.stderr


def test_a_typed_intent_that_no_button_sends_is_read_as_words(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    """As on every served channel: `/back` ran Rasa's action_back (the reply was the
    disclaimer alone, and the conversation was rewound); our buttons' payloads work."""
    objects, _ = ask(
        cfg,
        ["/back", "/restart", "/session_start", "/ask_naltrexone"],
        tmp=tmp_path,
    )
    for obj in objects[:3]:
        assert [r for r in obj["replies"] if "not medical advice" not in r], obj
    assert objects[3]["route"] == "article_answer" and objects[3]["citations"]
