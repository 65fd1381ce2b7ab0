"""How guard verdicts, intents and replies map onto each other.

Pure data and small functions shared by the Rasa NLU component, the actions,
the output guard and the CLI, so that every channel routes the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from ldn_bot.guard.verdict import Category, Verdict


class Route(str, Enum):
    """What kind of reply a turn got (the `route` of `ldn-bot ask --json`)."""

    EMERGENCY = "emergency"
    DOCTOR_REFERRAL = "doctor_referral"
    LANGUAGE = "language"  # a language the assistant does not understand (fixed reply)
    ARTICLE_ANSWER = "article_answer"
    OUT_OF_SCOPE = "out_of_scope"
    FALLBACK = "fallback"
    SMALLTALK = "smalltalk"


# Strongest first: a turn with several replies takes the strongest route.
ROUTE_PRIORITY = tuple(Route)

SAFETY_INTENT = {
    Category.EMERGENCY: "emergency",
    Category.PILL_SPLITTING: "ask_pill_splitting",
    Category.DOSING: "ask_dosing",
    Category.PERSONAL_ADVICE: "personal_advice",
}
INTENT_CATEGORY = {intent: category for category, intent in SAFETY_INTENT.items()}

SAFETY_RESPONSE = {
    Category.EMERGENCY: "utter_emergency",
    Category.PILL_SPLITTING: "utter_pill_splitting_referral",
    Category.DOSING: "utter_dosing_referral",
    Category.PERSONAL_ADVICE: "utter_personal_advice",
}
RESPONSE_CATEGORY = {response: category for category, response in SAFETY_RESPONSE.items()}

RESPONSE_ROUTE = {
    "utter_emergency": Route.EMERGENCY,
    "utter_dosing_referral": Route.DOCTOR_REFERRAL,
    "utter_pill_splitting_referral": Route.DOCTOR_REFERRAL,
    "utter_personal_advice": Route.DOCTOR_REFERRAL,
    "utter_article_answer": Route.ARTICLE_ANSWER,
    "utter_missing_side_effects_list": Route.ARTICLE_ANSWER,
    "utter_missing_contraindications_list": Route.ARTICLE_ANSWER,
    "utter_no_more": Route.ARTICLE_ANSWER,
    "utter_unsupported_language": Route.LANGUAGE,
    "utter_out_of_scope": Route.OUT_OF_SCOPE,
    "utter_not_covered": Route.OUT_OF_SCOPE,
    "utter_greet": Route.SMALLTALK,
    "utter_goodbye": Route.SMALLTALK,
    "utter_thanks": Route.SMALLTALK,
    "utter_iamabot": Route.SMALLTALK,
    "utter_help": Route.SMALLTALK,
    "utter_ask_topic_first": Route.SMALLTALK,
    "utter_fallback": Route.FALLBACK,
    "utter_default": Route.FALLBACK,
    "utter_cannot_answer_now": Route.FALLBACK,
    "utter_no_words": Route.FALLBACK,
    "utter_too_long": Route.FALLBACK,
}
NOT_A_ROUTE = frozenset({"utter_disclaimer"})

# A message in a language the assistant does not understand (`ldn_bot.language`).
LANGUAGE_INTENT = "unsupported_language"
LANGUAGE_RESPONSE = "utter_unsupported_language"


def merge_intent(intent: str | None, verdict: Verdict) -> str | None:
    """The two keys: a detector verdict overrides a weaker NLU intent.

    The stronger of the two safety categories wins (emergency over splitting
    over dosing over personal advice); a non-safety intent never overrides a
    verdict, and a verdict of none never weakens a safety intent.
    """
    if not verdict.blocked:
        return intent
    nlu_category = INTENT_CATEGORY.get(intent or "")
    if nlu_category is not None and _stronger(nlu_category, verdict.category):
        return intent
    return SAFETY_INTENT[verdict.category]


def _stronger(a: Category, b: Category) -> bool:
    order = list(SAFETY_INTENT)
    return order.index(a) < order.index(b)


def context_for(response: str | None) -> Category | None:
    """The guard context a previous reply leaves (a referral makes follow-ups refer too)."""
    return RESPONSE_CATEGORY.get(response or "")


def response_name(metadata: Mapping[str, Any]) -> str:
    """The response a sent message came from (the output guard's stand-in counts as a referral)."""
    if metadata.get("output_guard"):
        return "utter_dosing_referral"
    return str(metadata.get("utter_action") or "")


def route_for(responses: Iterable[str]) -> Route:
    """The route of a turn, from the names of the responses it sent."""
    routes = {
        RESPONSE_ROUTE.get(name, Route.FALLBACK) for name in responses if name not in NOT_A_ROUTE
    }
    for route in ROUTE_PRIORITY:
        if route in routes:
            return route
    return Route.FALLBACK
