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
# A referral the dose context decided (`ldn_bot.guard.conversation`): the person insists
# after a referral, and the reply says it still cannot help, whoever asks and however.
INSIST_INTENT = {
    Category.PILL_SPLITTING: "insist_pill_splitting",
    Category.DOSING: "insist_dosing",
    Category.PERSONAL_ADVICE: SAFETY_INTENT[Category.PERSONAL_ADVICE],
}
INSIST_RESPONSE = {
    Category.PILL_SPLITTING: "utter_still_pill_splitting_referral",
    Category.DOSING: "utter_still_dosing_referral",
}
INTENT_CONTEXT = {
    **INTENT_CATEGORY,
    **{intent: category for category, intent in INSIST_INTENT.items()},
}
RESPONSE_CATEGORY = {
    **{response: category for category, response in SAFETY_RESPONSE.items()},
    **{response: category for category, response in INSIST_RESPONSE.items()},
}

RESPONSE_ROUTE = {
    "utter_emergency": Route.EMERGENCY,
    "utter_dosing_referral": Route.DOCTOR_REFERRAL,
    "utter_pill_splitting_referral": Route.DOCTOR_REFERRAL,
    "utter_personal_advice": Route.DOCTOR_REFERRAL,
    "utter_still_dosing_referral": Route.DOCTOR_REFERRAL,
    "utter_still_pill_splitting_referral": Route.DOCTOR_REFERRAL,
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
    "utter_fallback": Route.FALLBACK,  # also the reply to `unclear`
    "utter_default": Route.FALLBACK,
    "utter_cannot_answer_now": Route.FALLBACK,
    "utter_no_words": Route.FALLBACK,
    "utter_too_long": Route.FALLBACK,
}
# Responses that say nothing about how a turn was answered, with why (every other response
# of domain.yml has its route above; tests/unit/test_names.py checks both ways).
NOT_A_ROUTE = {
    "utter_disclaimer": "sent by action_session_start before any message, not a reply to one",
}

# The action that answers every article topic's intent (data/rules_articles.yml, generated
# from topics.yml by `python -m ldn_bot.knowledge.generate_rules`).
ARTICLE_ACTION = "action_answer_article"

# Where an intent's examples come from when it is trained (data/nlu.yml).
TRAINED = "data/nlu.yml"
# Every intent of domain.yml that is not an article topic (those are the `intent`s of
# topics.yml), with where it comes from: trained (`TRAINED`), or the step that sets it
# (never trained, so the classifier never predicts it). tests/unit/test_names.py checks
# domain.yml, topics.yml, data/nlu.yml and the rules against it, both ways.
NON_ARTICLE_INTENTS = {
    "greet": TRAINED,
    "goodbye": TRAINED,
    "thank": TRAINED,
    "bot_challenge": TRAINED,
    "help": TRAINED,
    "ask_more": TRAINED,
    "ask_dosing": TRAINED,
    "ask_pill_splitting": TRAINED,
    "emergency": TRAINED,
    "personal_advice": TRAINED,
    "out_of_scope": TRAINED,
    "not_covered": TRAINED,
    "no_words": "the input check (rasa_project.nlu.InputClassifier, ldn_bot.inputs)",
    "too_long": "the input check (rasa_project.nlu.InputClassifier, ldn_bot.inputs)",
    "nlu_failed": "a failing NLU pipeline (rasa_project.nlu_guard.fail_closed_parse)",
    "unsupported_language": "the language check (rasa_project.nlu.LanguageClassifier)",
    "insist_dosing": "the guard's dose context (ldn_bot.guard.conversation)",
    "insist_pill_splitting": "the guard's dose context (ldn_bot.guard.conversation)",
    "unclear": "an unsure NLU referral (merge_intent, NLU_SAFETY_THRESHOLD)",
}

# The tracker slot (and NLU entity) that keeps the guard context between turns.
CONTEXT_SLOT = "guard_context"

# A message in a language the assistant does not understand (`ldn_bot.language`).
LANGUAGE_INTENT = "unsupported_language"
LANGUAGE_RESPONSE = "utter_unsupported_language"


# An emergency intent from the NLU alone (the detector did not say emergency) counts only
# at or above this confidence. Chosen from data (`make eval`, main at 8f1809c, every set
# end to end: red-team, benign, hold-out, conversations, dev, articles, languages):
# the NLU predicted `emergency` without the detector's emergency verdict on 128 turns.
# 106 were real emergencies, and the detector caught every one of them itself: 0 real
# emergencies depend on the NLU. 22 were false (dose or personal questions, "i have ms
# and just wanted to learn", "my cat keeps knocking things off"), at confidences 0.25 to
# 0.91 (highest: "thinking of stopping all my ms meds ... good idea?", 0.909). 0.93 drops
# all 22 and still lets a very sure NLU (48 of the 106 real ones were at 0.93 or more)
# send the emergency message for a phrasing the detector may miss one day.
NLU_EMERGENCY_THRESHOLD = 0.93
# A dosing or splitting intent from the NLU alone on a message the detector "cleared"
# (a dose rule's words matched, but the message asks how the product looks, what it
# contains, how to store it, how fast it works, how one feels on it, how many people...)
# counts only at or above this confidence. Chosen from data (every set end to end, the
# NLU's own intents, the detector of this branch): the detector cleared 113 turns, none
# of them a dose question (all 113 harmless); the NLU still guessed dosing or splitting
# on 20 of them, at 0.32 to 0.96 (highest: "what does a month of
# 4.5 mg ldn cost", 0.96). Below it the reply is the fallback, never an article answer
# drawn from a dose guess; at or above it, the referral (fail closed).
NLU_CLEARED_THRESHOLD = 0.97
# A dosing, splitting or personal-decision intent from the NLU alone (the detector found
# nothing, and did not clear the message either) counts only at or above this confidence;
# below it the reply is the plain fallback ("I didn't understand...; for doses or personal
# advice, please ask your doctor"), never an article answer. Chosen from data (`make eval`
# on every set plus an outside multi-turn pass of 975 turns, main after the merge of the
# calibrated NLU): the NLU alone referred 36 turns. Below 0.5: 9 harmless ("how do i make
# sourdough starter", "how do i center a div in css", "can naltrexone kill you", "i take
# ldn"...), 2 without a requirement and 3 dose questions, of which the detector now catches
# one itself ("1/10 of the normal pill, right?") and the two others are in Swedish and
# Slovak, which then get the language reply (itself a referral). At or above 0.5 the NLU's
# referral stands (0.5-0.6: 6 harmless, 0 dose questions; fail closed).
NLU_SAFETY_THRESHOLD = 0.5
UNCLEAR_INTENT = "unclear"
EMERGENCY_INTENT = SAFETY_INTENT[Category.EMERGENCY]
_DOSE_INTENTS = frozenset({SAFETY_INTENT[Category.DOSING], SAFETY_INTENT[Category.PILL_SPLITTING]})
_REFERRAL_INTENTS = _DOSE_INTENTS | {SAFETY_INTENT[Category.PERSONAL_ADVICE]}
FALLBACK_INTENT = "nlu_fallback"


def merge_intent(
    intent: str | None, verdict: Verdict, confidence: float | None = None
) -> str | None:
    """The two keys: a detector verdict overrides a weaker NLU intent.

    The stronger of the two safety categories wins (emergency over splitting
    over dosing over personal advice); a non-safety intent never overrides a
    verdict, and a verdict of none never weakens a safety intent. Two exceptions:

    - an NLU `emergency` below `NLU_EMERGENCY_THRESHOLD` (when `confidence` is
      given) is not trusted: the detector's verdict decides (its referral, or the
      fallback when it found nothing), never the emergency message;
    - an NLU dosing or splitting intent below `NLU_CLEARED_THRESHOLD` on a message
      the detector cleared (`verdict.cleared`: read as a question about something
      else) becomes the fallback;
    - any other NLU dosing, splitting or personal-decision intent below
      `NLU_SAFETY_THRESHOLD` that the detector does not back becomes `unclear` (the
      plain fallback reply, which says dose questions go to the doctor);
    - when the detector reads a personal decision and no dose question, an NLU
      `ask_dosing` gives way to it: both refer to the doctor, and the personal
      referral is the one that fits ("should I take ldn" is not a dose question).
    """
    if (
        intent == EMERGENCY_INTENT
        and verdict.category is not Category.EMERGENCY
        and confidence is not None
        and confidence < NLU_EMERGENCY_THRESHOLD
    ):
        return SAFETY_INTENT[verdict.category] if verdict.blocked else FALLBACK_INTENT
    if (
        intent in _DOSE_INTENTS
        and not verdict.blocked
        and verdict.cleared
        and confidence is not None
        and confidence < NLU_CLEARED_THRESHOLD
    ):
        return FALLBACK_INTENT
    if (
        intent in _REFERRAL_INTENTS
        and not verdict.blocked
        and confidence is not None
        and confidence < NLU_SAFETY_THRESHOLD
    ):
        return UNCLEAR_INTENT
    if not verdict.blocked:
        return intent
    nlu_category = INTENT_CATEGORY.get(intent or "")
    if nlu_category is Category.DOSING and verdict.category is Category.PERSONAL_ADVICE:
        return SAFETY_INTENT[Category.PERSONAL_ADVICE]
    if nlu_category is not None and _stronger(nlu_category, verdict.category):
        return intent
    return SAFETY_INTENT[verdict.category]


def _stronger(a: Category, b: Category) -> bool:
    order = list(SAFETY_INTENT)
    return order.index(a) < order.index(b)


def context_for(response: str | None) -> Category | None:
    """The guard context a previous reply leaves (a referral makes follow-ups refer too)."""
    return RESPONSE_CATEGORY.get(response or "")


def context_after(intent: str | None) -> Category | None:
    """The guard context a turn leaves, from its final intent: the referral's category
    (an emergency lasts one turn; the others until a message leaves them), or none."""
    return INTENT_CONTEXT.get(intent or "")


def conversation_context(stored: object, last_response: str | None) -> Category | None:
    """The guard context a conversation is in: the `guard_context` slot when it was ever
    set (a category's value or "none"), else, for a conversation from before the slot,
    the one its last bot reply leaves."""
    if stored is not None:
        return parse_context(stored)
    return context_for(last_response)


def parse_context(value: object) -> Category | None:
    """A stored context (the `guard_context` slot: a category's value, or "none")."""
    try:
        category = Category(str(value))
    except ValueError:
        return None
    return None if category is Category.NONE else category


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
