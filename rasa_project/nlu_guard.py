"""The guard in the NLU graph: the detector and the conversation read on every message.

`GuardClassifier` runs last in the pipeline (`config.yml`), so every channel (REST,
socket.io, Slack, the terminal, a stock `rasa run`) gets it with no extra wiring; the
detector and the conversation rules are `ldn_bot` code that knows nothing of Rasa.
`fail_closed_parse` is what a message gets when the NLU itself fails
(`rasa_project.patches`).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.events import BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from ldn_bot.guard.conversation import (
    ConversationGuard,
    Guess,
    Reading,
    conversation_rules,
)
from ldn_bot.guard.conversation import fail_closed as fail_closed_reading
from ldn_bot.guard.verdict import Category
from ldn_bot.routing import (
    CONTEXT_SLOT,
    FALLBACK_INTENT,
    INSIST_INTENT,
    LANGUAGE_INTENT,
    context_after,
    conversation_context,
    merge_intent,
)
from rasa_project.nlu import (
    GUARD_KEY,
    SCOPE_KEY,
    StatelessClassifier,
    article_intents,
    set_intent,
)

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class GuardClassifier(StatelessClassifier):
    """The deterministic key of the two-key guard, run after the intent classifier and fallback.

    Sets the intent to the safety intent when the detector flags the message
    (or fails), keeps the NLU's intent otherwise, and records the verdict in
    the parse data under `guard` for the actions, the ledger and the CLI.
    """

    def process(
        self, messages: list[Message], tracker: DialogueStateTracker | None = None
    ) -> list[Message]:
        """Read each message with the detector and the conversation; set the final intent."""
        for message in messages:
            self._guard(message, tracker)
        return messages

    @staticmethod
    def _guard(message: Message, tracker: DialogueStateTracker | None) -> None:
        nlu = message.get(INTENT) or {}
        nlu_intent = nlu.get(INTENT_NAME_KEY)
        reading = _judge(message.get(TEXT) or "", tracker, _guess(message))
        final = _final_intent(nlu_intent, reading, _confidence(nlu))
        if final != nlu_intent:
            set_intent(message, final)
        message.set(GUARD_KEY, {**reading.as_dict(), "nlu_intent": nlu_intent}, add_to_output=True)
        entities = [e for e in message.get(ENTITIES) or [] if e.get("entity") != CONTEXT_SLOT]
        message.set(ENTITIES, [*entities, _context_entity(final, reading)], add_to_output=True)


def _final_intent(nlu_intent: str | None, reading: Reading, confidence: float | None) -> str | None:
    """The intent the guard's reading leaves: the insisting referral (or, for a message in
    a language the assistant does not understand, its fixed reply, which says dose
    questions go to a doctor), else the two keys merged (see `routing.merge_intent`)."""
    if reading.insisting:
        if nlu_intent == LANGUAGE_INTENT:
            return nlu_intent
        return INSIST_INTENT[reading.verdict.category]
    return merge_intent(nlu_intent, reading.verdict, confidence=confidence)


def _confidence(intent: dict[str, Any]) -> float:
    """The NLU's confidence in its intent (0 when missing or unreadable: not trusted)."""
    try:
        return float(intent.get("confidence") or 0.0)
    except (TypeError, ValueError):
        return 0.0


def _judge(text: str, tracker: DialogueStateTracker | None, guess: Guess) -> Reading:
    """The conversation guard's reading of the turn; the referral on any failure."""
    context: Category | None = None
    try:
        context = _context(tracker)
        return _conversation_guard().judge(
            text, previous=_previous_texts(tracker), context=context, guess=guess
        )
    except Exception:  # any failure here, context included, ends in the referral
        logger.exception("guard component failed; failing closed")
        return fail_closed_reading(context)


def _guess(message: Message) -> Guess:
    """The intent so far (after the scope, input and language steps) with the classifier's
    own confidence in it, or under the fallback the classifier's best guess: 0 for an
    intent a rule step chose (not_covered, out_of_scope for a message without a word of
    the article, unsupported_language)."""
    intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
    overridden = {FALLBACK_INTENT, LANGUAGE_INTENT}
    if message.get(SCOPE_KEY):
        return Guess(intent, 0.0)
    for entry in message.get(INTENT_RANKING_KEY) or []:
        name = entry.get(INTENT_NAME_KEY)
        if name in overridden:
            continue
        if intent == FALLBACK_INTENT or name == intent:
            # below the fallback bar, the classifier's own best guess still says what
            # the message is about (the conversation guard asks for 0.2 and a question)
            return Guess(name, _confidence(entry))
        break
    return Guess(intent, 0.0)


def _context_entity(intent: str | None, reading: Reading) -> dict[str, Any]:
    """The context the turn leaves, as the `guard_context` entity: the slot of the same
    name takes it (Rasa's `action_extract_slots`), so it lives in the tracker. A message
    in another language keeps the dose context it could not leave."""
    after = context_after(intent) or (reading.context if reading.insisting else None)
    return {"entity": CONTEXT_SLOT, "value": (after or Category.NONE).value, "extractor": "guard"}


def fail_closed_parse(text: str, tracker: DialogueStateTracker | None) -> dict[str, Any]:
    """Parse data for a message the NLU pipeline failed on: the guard alone.

    A safety intent when the guard fires (or fails too), `nlu_failed` ("I can't
    answer that right now") otherwise. Never raises.
    """
    reading = _judge(text, tracker, Guess())
    intent = _final_intent(NLU_FAILED, reading, None) or NLU_FAILED
    return {
        TEXT: text,
        INTENT: {INTENT_NAME_KEY: intent, "confidence": 1.0},
        INTENT_RANKING_KEY: [{INTENT_NAME_KEY: intent, "confidence": 1.0}],
        ENTITIES: [_context_entity(intent, reading)],
        GUARD_KEY: {**reading.as_dict(), "nlu_intent": None},
    }


NLU_FAILED = "nlu_failed"


def _context(tracker: DialogueStateTracker | None) -> Category | None:
    """The guard context the conversation is in: the `guard_context` slot, or (for a
    conversation from before the slot) the one the last bot reply leaves."""
    if tracker is None:
        return None
    last_bot = next((e for e in reversed(tracker.events) if isinstance(e, BotUttered)), None)
    last_response = last_bot.metadata.get("utter_action") if last_bot else None
    return conversation_context(tracker.get_slot(CONTEXT_SLOT), last_response)


def _previous_texts(tracker: DialogueStateTracker | None) -> list[str]:
    """The user's latest messages of this session, oldest first (as many as the window reads)."""
    if tracker is None:
        return []
    wanted = _conversation_guard().rules.window - 1
    texts: list[str] = []
    for event in reversed(tracker.events):
        if len(texts) >= wanted or isinstance(event, SessionStarted):
            break
        if isinstance(event, UserUttered):
            texts.append(event.text or "")
    return texts[::-1]


@lru_cache(maxsize=1)
def _conversation_guard() -> ConversationGuard:
    return ConversationGuard(conversation_rules(), article_intents())
