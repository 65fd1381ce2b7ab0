"""Follow-ups that only make sense after the previous answer, and the scope words that
decide whether a short question is about the article at all. Each test is named after
what broke on the multi-turn set."""

from __future__ import annotations

import pytest

from ldn_bot.answering import answer_turn, lemmas, narrows_to_ms
from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.knowledge.scope import Scope, scope_model


@pytest.mark.parametrize(
    "text",
    ["for ms", "for MS?", "in ms patients", "with multiple sclerosis?", "for people with ms"],
)
def test_a_qualifier_naming_ms_after_an_answer_continues_that_topic_not_the_ms_topic(
    kb: KnowledgeBase, text: str
) -> None:
    turn = answer_turn(kb, text=text, intent="ask_ms", last_topic="naltrexone")
    assert turn.replies[0].response == "utter_article_answer"
    assert turn.topic == "naltrexone"


@pytest.mark.parametrize(
    "text", ["in the uk", "for fatigue", "about side effects", "ms", "for ms, what dose", "for me"]
)
def test_a_fragment_that_names_something_else_is_not_a_qualifier(text: str) -> None:
    assert not narrows_to_ms(text)


def test_a_qualifier_without_an_earlier_answer_is_answered_on_its_own(kb: KnowledgeBase) -> None:
    turn = answer_turn(kb, text="for ms", intent="ask_ms", last_topic=None)
    assert turn.topic == "ms"


def test_a_qualifier_with_a_dose_in_it_is_referred(kb: KnowledgeBase) -> None:
    turn = answer_turn(kb, text="for ms at 4.5 mg", intent="ask_ms", last_topic="naltrexone")
    assert turn.verdict.blocked


@pytest.mark.parametrize(
    "text", ["ok what does it actually do then", "so basically, what does it do", "hmm ok"]
)
def test_filler_words_do_not_make_a_question_off_topic(kb: KnowledgeBase, text: str) -> None:
    assert scope_model(kb.article).scope(lemmas(text)) is not Scope.OFF_TOPIC


@pytest.mark.parametrize("text", ["so only anecdotes?", "is it progressing", "any researchers"])
def test_another_form_of_an_article_word_is_in_scope(kb: KnowledgeBase, text: str) -> None:
    assert scope_model(kb.article).scope(lemmas(text)) is Scope.IN_SCOPE


@pytest.mark.parametrize(
    "text", ["how do i bake sourdough bread", "who won the election", "how tall is mount everest"]
)
def test_off_topic_questions_stay_off_topic(kb: KnowledgeBase, text: str) -> None:
    assert scope_model(kb.article).scope(lemmas(text)) is Scope.OFF_TOPIC


@pytest.mark.parametrize(
    "text",
    ["how long before naltrexone kicks in", "how long after starting ldn do you see results"],
)
def test_how_long_is_not_read_as_the_long_term_study(kb: KnowledgeBase, text: str) -> None:
    turn = answer_turn(kb, text=text, intent="nlu_fallback")
    assert turn.topic != "study_longterm"


@pytest.mark.parametrize(
    "text", ["what ingredients are in ldn capsules", "does naltrexone contain lactose"]
)
def test_ingredients_are_not_covered(kb: KnowledgeBase, text: str) -> None:
    assert scope_model(kb.article).scope(lemmas(text)) is Scope.NOT_COVERED
