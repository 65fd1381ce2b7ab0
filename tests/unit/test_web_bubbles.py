"""What the web widget gets: one bubble per reply, Markdown-safe, the source linking to
the passage, and the class that puts one pair of thumbs under each answer."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.web_bubbles import VOTE_CLASS, bubble_text, escape_markdown, votable
from rasa_project.channels.socketio import _RoomOutput


class _RecordingSio:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, str]] = []

    async def emit(self, event: str, data: Any, room: str) -> None:
        self.sent.append((data, room))


def _reply(kb: KnowledgeBase, topic: str) -> tuple[str, list[str]]:
    answer = kb.answer(topic)
    assert answer is not None
    return f"{answer.text}\n\n📄 Source: {answer.source}", list(answer.citations)


def test_an_answer_and_its_source_are_one_bubble_linking_to_the_passage(
    kb: KnowledgeBase,
) -> None:
    text, citations = _reply(kb, "study_2017")
    bubble = bubble_text(
        text, response="utter_article_answer", citations=citations, article=kb.article
    )
    answer, source = bubble.split("\n\n")
    assert answer.startswith("…a study published in 2017")  # "For example," elided
    assert source.startswith(
        "📄 Source: Medical News Today, 12 June 2019 · "
        "[read the passage](/article?q=s21,s22,s23,r5#s21). Cited: Raknes"
    )


def test_a_reply_the_output_guard_replaced_keeps_its_own_text(kb: KnowledgeBase) -> None:
    _, citations = _reply(kb, "off_label")
    bubble = bubble_text(
        "I can't help with dosing.",
        response="utter_article_answer",
        citations=citations,
        article=kb.article,
    )
    assert bubble == "I can't help with dosing\\." and "](" not in bubble


@pytest.mark.parametrize(
    "text",
    [
        "1. not a list",
        "# not a heading",
        "*not bold* and _not italic_",
        "[not a link](javascript:alert(1))",
        "> not a quote",
        "- not a bullet",
        "`not code`",
    ],
)
def test_article_text_never_turns_into_markdown(text: str) -> None:
    unescaped = re.sub(r"\\.", "", escape_markdown(text))  # every escaped pair removed
    assert not set(unescaped) & set("#*_[]()`>-.!")
    assert text.split()[-1].strip("`*_()[]") in escape_markdown(text).replace("\\", "")


@pytest.mark.parametrize(
    ("response", "voted"),
    [
        ("utter_article_answer", True),
        ("utter_dosing_referral", True),
        ("utter_pill_splitting_referral", True),
        ("utter_personal_advice", True),
        ("utter_still_dosing_referral", True),
        ("utter_out_of_scope", True),
        ("utter_unsupported_language", True),
        ("utter_emergency", False),
        ("utter_disclaimer", False),
        ("utter_greet", False),
        ("utter_thanks", False),
        ("utter_fallback", False),
        ("utter_missing_side_effects_list", False),
        ("utter_missing_contraindications_list", False),
        (None, False),
    ],
)
def test_votes_are_for_answers_and_referrals_only(response: str | None, voted: bool) -> None:
    assert votable(response) is voted


def test_the_first_answer_or_referral_of_a_turn_takes_the_one_vote(kb: KnowledgeBase) -> None:
    text, citations = _reply(kb, "side_effects")
    sio = _RecordingSio()
    output = _RoomOutput(sio, "bot_uttered")  # type: ignore[arg-type]

    async def turn() -> None:
        await output.send_response(
            "socketio:abc",
            {"text": text, "utter_action": "utter_article_answer", "citations": citations},
        )
        await output.send_response(
            "socketio:abc",
            {"text": "The list is not available.", "utter_action": "utter_dosing_referral"},
        )

    asyncio.run(turn())
    (answer, room), (note, _) = sio.sent
    assert room == "abc"
    assert "\n\n📄 Source: " in answer["text"] and "read the passage" in answer["text"]
    assert answer["metadata"] == {"customCss": {"style": "class", "css": VOTE_CLASS}}
    assert "metadata" not in note  # a second votable reply of the same turn: no vote


def test_small_talk_and_the_emergency_message_carry_no_vote_and_keep_their_wording() -> None:
    sio = _RecordingSio()

    async def turns() -> None:
        for response in ("utter_greet", "utter_emergency"):
            await _RoomOutput(sio, "bot_uttered").send_response(  # type: ignore[arg-type]
                "socketio:abc", {"text": "Hello.\n\nMore.", "utter_action": response}
            )

    asyncio.run(turns())
    assert [data for data, _ in sio.sent] == [{"text": "Hello.\n\nMore."}] * 2
