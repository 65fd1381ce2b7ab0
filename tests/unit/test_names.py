"""One source of truth for names: domain.yml, topics.yml, the training data, the routing
tables and the actions agree, both ways (no model).

A new intent or response that one of them lacks would be silently mis-handled: an intent
without a rule gets Rasa's core fallback, a response without a route is counted as a
fallback, an action the action server does not register fails the turn.
"""

from __future__ import annotations

import inspect
from collections import Counter
from typing import Any

import pytest
import yaml
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.utils import all_subclasses

from ldn_bot.answering import ASK_MORE, SCOPE_RESPONSE
from ldn_bot.confidence import SMALL_TALK_INTENTS
from ldn_bot.inputs import PROBLEM_INTENT
from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.ledger.report.model import NLU_FAILED
from ldn_bot.routing import (
    ARTICLE_ACTION,
    CONTEXT_SLOT,
    FALLBACK_INTENT,
    INSIST_INTENT,
    INSIST_RESPONSE,
    LANGUAGE_INTENT,
    LANGUAGE_RESPONSE,
    NON_ARTICLE_INTENTS,
    NOT_A_ROUTE,
    RESPONSE_ROUTE,
    SAFETY_INTENT,
    SAFETY_RESPONSE,
    TRAINED,
    UNCLEAR_INTENT,
)
from ldn_bot.settings import Settings

# Rasa's own intent for a low NLU confidence: in the rules, never in domain.yml.
RASA_INTENTS = frozenset({FALLBACK_INTENT})


@pytest.fixture(scope="module")
def domain(cfg: Settings) -> dict[str, Any]:
    return yaml.safe_load(cfg.domain_path.read_text("utf-8"))


@pytest.fixture(scope="module")
def training(cfg: Settings) -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text("utf-8")) or {} for path in cfg.training_files]


def _intent_names(domain: dict[str, Any]) -> list[str]:
    return [next(iter(i)) if isinstance(i, dict) else i for i in domain["intents"]]


def _nlu_examples(training: list[dict[str, Any]]) -> Counter[str]:
    """Examples per intent over every training file."""
    counts: Counter[str] = Counter()
    for data in training:
        for item in data.get("nlu", ()):
            if "intent" in item:
                counts[item["intent"]] += sum(
                    1 for line in item["examples"].splitlines() if line.strip().startswith("- ")
                )
    return counts


def _rules(training: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(intent, action) of every rule, over every training file."""
    pairs = []
    for data in training:
        for rule in data.get("rules", ()):
            steps = rule["steps"]
            assert [next(iter(s)) for s in steps] == ["intent", "action"], rule["rule"]
            pairs.append((steps[0]["intent"], steps[1]["action"]))
    return pairs


def _topic_intents(kb: KnowledgeBase) -> set[str]:
    return {topic.intent for topic in kb.topics.values()}


def test_every_domain_intent_is_a_topic_or_a_known_other_intent(
    domain: dict[str, Any], kb: KnowledgeBase
) -> None:
    intents = _intent_names(domain)
    assert len(intents) == len(set(intents)), "an intent is listed twice in domain.yml"
    topics = _topic_intents(kb)
    assert len(topics) == len(kb.topics), "two topics of topics.yml share an intent"
    assert not topics & set(NON_ARTICLE_INTENTS), "an intent is both a topic and not one"
    known = topics | set(NON_ARTICLE_INTENTS)
    assert set(intents) - known == set(), (
        "intents of domain.yml that are neither a topic of topics.yml nor listed in "
        "ldn_bot.routing.NON_ARTICLE_INTENTS"
    )
    assert known - set(intents) == set(), "intents missing from domain.yml's intents"


def test_every_topic_has_nlu_examples(training: list[dict[str, Any]], kb: KnowledgeBase) -> None:
    examples = _nlu_examples(training)
    assert {i for i in _topic_intents(kb) if examples[i] == 0} == set(), (
        "topics of topics.yml without examples in data/nlu.yml"
    )


def test_trained_intents_have_examples_and_the_others_none(
    training: list[dict[str, Any]], domain: dict[str, Any]
) -> None:
    examples = _nlu_examples(training)
    for intent, source in NON_ARTICLE_INTENTS.items():
        if source == TRAINED:
            assert examples[intent] > 0, f"{intent} is listed as trained but has no examples"
        else:  # set by a pipeline step: the classifier must never predict it
            assert examples[intent] == 0, f"{intent} is set by {source}, yet has examples"
    assert set(examples) - set(_intent_names(domain)) == set(), "examples of unknown intents"


def test_every_intent_has_one_rule_to_a_known_response_or_action(
    training: list[dict[str, Any]], domain: dict[str, Any], kb: KnowledgeBase
) -> None:
    rules = _rules(training)
    by_intent = Counter(intent for intent, _ in rules)
    expected = set(_intent_names(domain)) | RASA_INTENTS
    assert expected - set(by_intent) == set(), (
        "intents without a rule: a topic's in data/rules_articles.yml "
        "(python -m ldn_bot.knowledge.generate_rules), any other in data/rules.yml"
    )
    assert set(by_intent) - expected == set(), "rules for intents domain.yml does not have"
    assert {i for i, n in by_intent.items() if n > 1} == set(), "an intent with two rules"
    targets = set(domain["responses"]) | set(domain["actions"])
    assert {action for _, action in rules} - targets == set(), "a rule to an unknown action"
    answered = {intent for intent, action in rules if action == ARTICLE_ACTION}
    assert answered == _topic_intents(kb), (
        "article rules and topics.yml differ: run python -m ldn_bot.knowledge.generate_rules"
    )


def test_every_response_has_a_route_or_a_reason_not_to(domain: dict[str, Any]) -> None:
    responses = set(domain["responses"])
    assert not set(RESPONSE_ROUTE) & set(NOT_A_ROUTE), "a response both routed and exempt"
    assert responses - set(RESPONSE_ROUTE) - set(NOT_A_ROUTE) == set(), (
        "responses of domain.yml missing from ldn_bot.routing.RESPONSE_ROUTE (their turns "
        "would count as fallbacks); add them, or to NOT_A_ROUTE with the reason"
    )
    assert (set(RESPONSE_ROUTE) | set(NOT_A_ROUTE)) - responses == set(), (
        "routing names responses domain.yml does not have"
    )
    assert all(reason.strip() for reason in NOT_A_ROUTE.values())


def test_every_domain_action_is_implemented_in_actions(domain: dict[str, Any]) -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    implemented = {
        cls().name()
        for cls in all_subclasses(Action)
        if cls.__module__.startswith("actions.") and not inspect.isabstract(cls)
    }
    assert implemented <= set(executor.actions), "the action server does not register them"
    assert set(domain["actions"]) - implemented == set(), "domain actions not in actions/"
    assert implemented - set(domain["actions"]) == set(), "actions missing from domain.yml"


def test_names_the_code_uses_are_in_the_domain(domain: dict[str, Any], kb: KnowledgeBase) -> None:
    named_intents = {
        *SAFETY_INTENT.values(),
        *INSIST_INTENT.values(),
        *PROBLEM_INTENT.values(),
        *SMALL_TALK_INTENTS,
        LANGUAGE_INTENT,
        UNCLEAR_INTENT,
        ASK_MORE,
        NLU_FAILED,
    }
    assert named_intents - set(NON_ARTICLE_INTENTS) == set()
    named_responses = {
        *SAFETY_RESPONSE.values(),
        *INSIST_RESPONSE.values(),
        *SCOPE_RESPONSE.values(),
        LANGUAGE_RESPONSE,
        *(note for topic in kb.topics.values() for note in topic.notes),
    }
    assert named_responses - set(domain["responses"]) == set()
    assert CONTEXT_SLOT in domain["slots"]
    assert CONTEXT_SLOT in {next(iter(e)) if isinstance(e, dict) else e for e in domain["entities"]}


def test_every_button_asks_for_a_domain_intent(domain: dict[str, Any]) -> None:
    payloads = [
        button["payload"]
        for variants in domain["responses"].values()
        for variant in variants
        for button in variant.get("buttons", ())
    ]
    assert payloads, "the greeting, help and fallback offer buttons"
    intents = set(_intent_names(domain))
    assert {p.removeprefix("/") for p in payloads} - intents == set()
