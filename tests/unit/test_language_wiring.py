"""How the language check is wired (issue 13 item 4): the NLU component, the guard after
it, the answering actions and the routing tables. No trained model needed."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.nlu.training_data.message import Message
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import rasa_project.nlu as nlu
from actions.article import ActionAnswerArticle, ActionAnswerMore, ActionFallback
from ldn_bot.language import LanguageVerdict
from ldn_bot.routing import LANGUAGE_RESPONSE, RESPONSE_ROUTE, Route, route_for
from rasa_project.nlu import LanguageClassifier
from rasa_project.nlu_guard import GuardClassifier

# Written for these tests: harmless questions in languages the assistant does not understand.
OTHER_HARMLESS = [
    "Hoe werkt naltrexon eigenlijk in het lichaam volgens het artikel?",
    "Jakie są skutki uboczne naltreksonu według tego artykułu?",
    "Mitä artikkeli kertoo naltreksonin turvallisuudesta?",
]
# Written for these tests: dose questions the guard refers in any case (numbers and units).
OTHER_REFERRED = [
    "Moet ik 4,5 mg LDN nemen of 3 mg?",
    "Czy 4.5 mg LDN to dobra dawka dla mnie?",
]


def run_nlu(text: str, intent: str | None, confidence: float = 0.8) -> Message:
    msg = Message(data={"text": text})
    msg.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    msg.set("intent_ranking", [{"name": intent, "confidence": confidence}], add_to_output=True)
    LanguageClassifier().process([msg])
    GuardClassifier().process([msg], None)
    return msg


@pytest.mark.parametrize("text", OTHER_HARMLESS)
@pytest.mark.parametrize(
    "nlu_intent", ["ask_mechanism", "out_of_scope", "nlu_fallback", "ask_more"]
)
def test_other_language_never_keeps_an_article_scope_or_topic_first_intent(
    text: str, nlu_intent: str
) -> None:
    msg = run_nlu(text, nlu_intent)
    assert msg.get("intent")["name"] == "unsupported_language"
    assert msg.get("language")["supported"] is False


@pytest.mark.parametrize("text", OTHER_REFERRED)
def test_the_guard_referral_wins_over_the_language_reply(text: str) -> None:
    msg = run_nlu(text, "ask_naltrexone")
    assert msg.get("intent")["name"] in {"ask_dosing", "ask_pill_splitting", "personal_advice"}


@pytest.mark.parametrize(
    ("nlu_intent", "confidence"),
    [("ask_dosing", 0.8), ("ask_pill_splitting", 0.8), ("emergency", 0.95)],
)
def test_a_safety_intent_from_the_nlu_is_kept(nlu_intent: str, confidence: float) -> None:
    msg = run_nlu(OTHER_HARMLESS[0], nlu_intent, confidence)
    assert msg.get("intent")["name"] == nlu_intent


def test_an_unsure_nlu_emergency_on_another_language_gets_the_language_reply() -> None:
    """Merging the calibrated emergency (only at 0.93 or more) with the language step: an
    unsure NLU emergency on a harmless foreign message got the fallback, not the language
    reply the person can act on."""
    msg = run_nlu(OTHER_HARMLESS[0], "emergency", 0.3)
    assert msg.get("intent")["name"] == "unsupported_language"


@pytest.mark.parametrize("problem_intent", ["too_long", "no_words"])
def test_an_input_problem_is_kept(problem_intent: str) -> None:
    msg = run_nlu(OTHER_HARMLESS[1], problem_intent)
    assert msg.get("intent")["name"] == problem_intent


@pytest.mark.parametrize("text", ["what is ldn", "ok", "¿Qué es la naltrexona en dosis baja?"])
def test_supported_languages_keep_the_nlu_intent(text: str) -> None:
    assert run_nlu(text, "ask_naltrexone").get("intent")["name"] == "ask_naltrexone"


def test_a_failing_language_check_keeps_the_nlu_intent(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: Any) -> LanguageVerdict:
        raise RuntimeError("boom")

    monkeypatch.setattr(nlu, "identify", broken)
    msg = run_nlu(OTHER_HARMLESS[2], "ask_safety")
    assert msg.get("intent")["name"] == "ask_safety"


# --- the answering actions -----------------------------------------------------------------

OTHER = {"language": "nl", "confidence": 0.99, "supported": False, "reason": "other_language"}
NO_GUARD = {"category": "none", "rule": None, "rules": []}


def tracker(text: str, intent: str, language: dict[str, Any] | None) -> Tracker:
    latest: dict[str, Any] = {"text": text, "intent": {"name": intent}, "guard": NO_GUARD}
    if language is not None:
        latest["language"] = language
    return Tracker("u", {"last_topic": None}, latest, [], False, None, {}, None)


@pytest.mark.parametrize("action", [ActionAnswerArticle(), ActionAnswerMore(), ActionFallback()])
@pytest.mark.parametrize("text", OTHER_HARMLESS)
def test_answering_actions_give_the_language_reply_never_an_article_answer(
    action: Any, text: str
) -> None:
    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker(text, "ask_mechanism", OTHER), {})
    assert [m["response"] for m in dispatcher.messages] == [LANGUAGE_RESPONSE]


def test_answering_actions_still_refer_a_dose_question_in_another_language() -> None:
    dispatcher = CollectingDispatcher()
    ActionFallback().run(dispatcher, tracker(OTHER_REFERRED[0], "nlu_fallback", OTHER), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_dosing_referral"]


def test_answering_actions_answer_when_the_language_is_supported() -> None:
    dispatcher = CollectingDispatcher()
    supported = {"language": None, "confidence": 0.0, "supported": True, "reason": "short"}
    ActionAnswerArticle().run(dispatcher, tracker("what is ldn", "ask_naltrexone", supported), {})
    assert dispatcher.messages[0]["response"] == "utter_article_answer"


def test_the_language_reply_has_its_own_route() -> None:
    assert RESPONSE_ROUTE[LANGUAGE_RESPONSE] is Route.LANGUAGE
    assert route_for(["utter_disclaimer", LANGUAGE_RESPONSE]) is Route.LANGUAGE
    assert route_for([LANGUAGE_RESPONSE, "utter_dosing_referral"]) is Route.DOCTOR_REFERRAL
