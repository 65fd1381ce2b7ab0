"""When the NLU's intent is not sure enough to act on (the calibrated fallback).

Framework-free: `rasa_project.understanding.CalibratedFallbackClassifier` calls
`falls_back()` with the classifier's top two confidences and the bars from
`config.yml`, where the values and how they were chosen are written down.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(r"[a-z0-9]+")

# Replies that are confident small talk: a wrong one ("blah blah" -> "Goodbye",
# "does it help fatigue" -> the help menu) is worse than the fallback's topic list.
SMALL_TALK_INTENTS = frozenset({"greet", "goodbye", "thank", "bot_challenge", "help", "ask_more"})
# Safety intents keep the bar they had before calibration (0.25): a higher one would
# turn an NLU referral into the fallback, whose keyword step may answer from the
# article. Fail closed: raising the bar must never weaken a referral.
SAFETY_INTENTS = frozenset({"ask_dosing", "ask_pill_splitting", "personal_advice", "emergency"})


@dataclass(frozen=True)
class Bars:
    """The confidence an intent needs to be acted on.

    Attributes:
        threshold: every other intent (the article topics, out_of_scope, not_covered).
        small_talk: the small-talk intents (`SMALL_TALK_INTENTS`).
        safety: the safety intents (`SAFETY_INTENTS`): never above the old bar.
        ambiguity: the least lead of the top intent over the second one.
    """

    threshold: float
    small_talk: float
    safety: float
    ambiguity: float

    def needed(self, intent: str | None) -> float:
        """The bar `intent` must reach."""
        if intent in SAFETY_INTENTS:
            return self.safety
        if intent in SMALL_TALK_INTENTS:
            return max(self.small_talk, self.threshold)
        return self.threshold


def words(text: str) -> frozenset[str]:
    """The lowercased words of a message (letters and digits)."""
    return frozenset(_TOKEN.findall(text.lower()))


def small_talk_vocabulary(examples: Iterable[tuple[str, str | None]]) -> frozenset[str]:
    """Every word of the small-talk training examples ((text, intent) pairs)."""
    return frozenset(
        word for text, intent in examples if intent in SMALL_TALK_INTENTS for word in words(text)
    )


def falls_back(
    intent: str | None,
    confidence: float | None,
    runner_up: float | None,
    bars: Bars,
    *,
    text: str = "",
    small_talk_words: frozenset[str] | None = None,
) -> bool:
    """Whether the message gets the fallback instead of `intent`.

    No intent, no confidence, a confidence below the intent's bar, or a lead over the
    second intent smaller than `bars.ambiguity` all fall back. So does a small-talk
    intent for a message that shares no word with the small-talk examples
    (`small_talk_words`, when given): "blah blah", "la la la" or "qwerty" get the
    fallback, not "Goodbye", however the character n-grams scored them.
    A safety intent at or above its bar never falls back for ambiguity: when the
    runner-up is close, the referral stands (fail closed).
    """
    if intent is None or confidence is None:
        return True
    if confidence < bars.needed(intent):
        return True
    if intent in SAFETY_INTENTS:
        return False
    if (
        intent in SMALL_TALK_INTENTS
        and small_talk_words is not None
        and not words(text) & small_talk_words
    ):
        return True
    return runner_up is not None and confidence - runner_up < bars.ambiguity
