"""Custom Rasa graph components: the project's spaCy pipeline and the guard.

Both are thin: the pipeline and the detector are `ldn_bot` code that knows
nothing of Rasa. Because the guard is part of the NLU graph, every channel
(REST, socket.io, Slack, the terminal) gets it with no extra wiring.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import (
    LogisticRegressionClassifier as RasaLogisticRegressionClassifier,
)
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.nlu.utils.spacy_utils import SpacyNLP as RasaSpacyNLP
from rasa.shared.core.events import BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import (
    ENTITIES,
    FEATURE_TYPE_SENTENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from spacy.language import Language
from spacy.tokens import Doc

from ldn_bot.analysis import analyse
from ldn_bot.answering import lemmas
from ldn_bot.guard.conversation import (
    ConversationGuard,
    Guess,
    Reading,
    conversation_rules,
)
from ldn_bot.guard.conversation import fail_closed as fail_closed_reading
from ldn_bot.guard.normalize import normalize
from ldn_bot.guard.verdict import Category
from ldn_bot.inputs import NLU_CHARS, PROBLEM_INTENT, input_problem
from ldn_bot.knowledge.article import load_article
from ldn_bot.knowledge.base import knowledge_base
from ldn_bot.knowledge.scope import Scope, ScopeModel, scope_model
from ldn_bot.language import article_words, identify
from ldn_bot.nlp import PIPELINE_VERSION, pipeline
from ldn_bot.routing import (
    CONTEXT_SLOT,
    FALLBACK_INTENT,
    INSIST_INTENT,
    INTENT_CATEGORY,
    LANGUAGE_INTENT,
    NLU_EMERGENCY_THRESHOLD,
    NLU_SAFETY_THRESHOLD,
    SAFETY_INTENT,
    context_after,
    conversation_context,
    merge_intent,
)
from ldn_bot.settings import ARTICLE_PATH
from rasa_project import patches

logger = logging.getLogger(__name__)

GUARD_KEY = "guard"


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.MODEL_LOADER,
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    ],
    is_trainable=False,
    model_from="SpacyNLP",
)
class SpacyNLP(RasaSpacyNLP):
    """Rasa's `SpacyNLP` on the project's own pipeline instead of a downloaded model.

    It keeps the name `SpacyNLP` because Rasa's spaCy tokenizer and featurizer
    find their model provider by that class name.

    Texts are normalised the way the guard sees them (Unicode, spelled-out and
    leet words, foreign glosses), so the intent classifier learns from the same tokens.

    Rasa builds this component whenever it loads the model, in every process that runs
    one (`ldn-bot`, a stock `rasa run` or `rasa shell`, training): that is where the
    fail-closed fixes of `rasa_project.patches` are installed, never at import.
    """

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SpacyNLP:
        """The component on the project's pipeline, with Rasa's fixes installed."""
        patches.apply()
        model = SpacyModel(model=pipeline(), model_name=PIPELINE_VERSION)
        return cls(model, {**cls.get_default_config(), **config})

    @classmethod
    def load(cls, *args: Any, **kwargs: Any) -> SpacyNLP:
        """As `create`: nothing of it is trained."""
        return cls.create(*args, **kwargs)

    def _preprocess_text(self, text: str | None) -> str:
        # Features from the first NLU_CHARS characters only: a longer message gets the
        # "too long" reply (InputClassifier) unless the guard, which reads all of it, fires.
        return normalize((text or "")[:NLU_CHARS])

    def _doc_for_text(self, model: Language, text: str) -> Doc:
        """The message's shared analysis (`ldn_bot.analysis`): the scope check and the
        guard after this read the same parse instead of parsing again. Training data
        still goes through `_preprocess_text` and the pipeline in batches."""
        if model is not pipeline():
            return super()._doc_for_text(model, text)
        return analyse((text or "")[:NLU_CHARS]).normal.doc


class StatelessClassifier(GraphComponent):
    """A rule-based NLU step: nothing to train, nothing to persist."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> StatelessClassifier:
        return cls()

    def process_training_data(self, training_data: Any) -> Any:
        return training_data


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


def set_intent(message: Message, intent: str | None) -> None:
    """Give `message` the intent a rule step decided (confidence 1, first in the ranking)."""
    decided = {INTENT_NAME_KEY: intent, "confidence": 1.0}
    message.set(INTENT, decided, add_to_output=True)
    ranking = message.get(INTENT_RANKING_KEY) or []
    message.set(INTENT_RANKING_KEY, [decided, *ranking], add_to_output=True)


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
    return ConversationGuard(conversation_rules(), _article_intents())


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class ScopeClassifier(StatelessClassifier):
    """Keeps article intents for questions about the article.

    A bag-of-words classifier cannot learn "everything else" from a few dozen
    examples, so an article intent predicted for a message with no word of the
    article's vocabulary becomes `out_of_scope`, and one that names a subject
    the article does not cover (other conditions, cost, hair loss...) becomes
    `not_covered`. The vocabulary is data (`ldn_bot/knowledge/scope.yml`).
    """

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if intent not in _article_intents():
                continue
            try:
                scope = _scope_model().scope(lemmas(message.get(TEXT) or ""))
            except Exception:  # the guard after this still runs; keep the NLU's intent
                logger.exception("scope check failed; keeping the NLU intent")
                continue
            if scope is Scope.IN_SCOPE:
                continue
            new = SCOPE_INTENT[scope]
            message.set(INTENT, {INTENT_NAME_KEY: new, "confidence": 1.0}, add_to_output=True)
            message.set(SCOPE_KEY, {"scope": scope.value, "nlu_intent": intent}, add_to_output=True)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class InputClassifier(StatelessClassifier):
    """Empty, wordless (emoji, symbols) and over-long messages get their own intents.

    Runs before the guard, which still reads the whole message and overrides these
    intents when it fires; a safety intent from the NLU is never replaced either.
    """

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            problem = input_problem(message.get(TEXT))
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if problem is None or intent in INTENT_CATEGORY:
                continue
            new = PROBLEM_INTENT[problem]
            message.set(INTENT, {INTENT_NAME_KEY: new, "confidence": 1.0}, add_to_output=True)
            message.set(
                INPUT_KEY, {"problem": problem.value, "nlu_intent": intent}, add_to_output=True
            )
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class LanguageClassifier(StatelessClassifier):
    """A message clearly in a language the assistant does not understand gets the
    intent `unsupported_language` (a fixed reply: the languages it understands, and
    that dose questions go to a doctor) instead of whatever the English NLU guessed.

    Runs before the guard, which still reads the message and overrides this intent when
    it fires: the language reply never replaces a referral. A safety intent from the NLU
    and an input problem (no words, too long) are kept. Short, mixed, mostly English and
    uncertain messages, and any failure, keep the NLU's intent (`ldn_bot.language`).
    The detector is loaded once, on the first message.
    """

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if intent in _INPUT_INTENTS or (
                intent in INTENT_CATEGORY and not _unsure_safety(message)
            ):
                continue
            try:
                verdict = identify(message.get(TEXT), _article_words())
                message.set(LANGUAGE_KEY, verdict.as_dict(), add_to_output=True)
            except Exception:  # identify never raises; keep the English path regardless
                logger.exception("language check failed; keeping the NLU intent")
                continue
            if verdict.supported:
                continue
            set_intent(message, LANGUAGE_INTENT)
        return messages


_INPUT_INTENTS = frozenset(PROBLEM_INTENT.values())


def _unsure_safety(message: Message) -> bool:
    """An NLU safety intent below the threshold at which the guard believes it alone: on
    a message in another language the language reply is then the answer, not the fallback."""
    intent = message.get(INTENT) or {}
    confidence = intent.get("confidence")
    bar = (
        NLU_EMERGENCY_THRESHOLD
        if intent.get(INTENT_NAME_KEY) == SAFETY_INTENT[Category.EMERGENCY]
        else NLU_SAFETY_THRESHOLD
    )
    return (
        intent.get(INTENT_NAME_KEY) in INTENT_CATEGORY
        and isinstance(confidence, (int, float))
        and confidence < bar
    )


LANGUAGE_KEY = "language"
INPUT_KEY = "input"
SCOPE_KEY = "scope"
SCOPE_INTENT = {
    Scope.OFF_TOPIC: "out_of_scope",
    Scope.NOT_COVERED: "not_covered",
    Scope.UNKNOWN: "nlu_fallback",  # no word we know: say so rather than guess a topic
}


@lru_cache(maxsize=1)
def _article_intents() -> frozenset[str]:
    kb = knowledge_base(ARTICLE_PATH)
    return frozenset(topic.intent for topic in kb.topics.values())


@lru_cache(maxsize=1)
def _article_words() -> frozenset[str]:
    return article_words(load_article(ARTICLE_PATH))


@lru_cache(maxsize=1)
def _scope_model() -> ScopeModel:
    return scope_model(load_article(ARTICLE_PATH))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LogisticRegressionClassifier(RasaLogisticRegressionClassifier):
    """Rasa's logistic regression intent classifier, for every message.

    Rasa's component fails on a message without sentence features (empty, or only
    characters the tokenizer drops), which would end the turn with no reply at all. Such
    a message gets no intent here (confidence 0), so the FallbackClassifier and the guard
    after it decide, as for any message the classifier is unsure of.
    """

    def process(self, messages: list[Message]) -> list[Message]:
        featurized = [m for m in messages if _has_sentence_features(m)]
        if featurized:
            super().process(featurized)
        for message in messages:
            if message.get(INTENT) is None:
                message.set(INTENT, {INTENT_NAME_KEY: None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        return messages


def _has_sentence_features(message: Message) -> bool:
    """Whether the featurizers gave the text sentence-level features (without combining
    them, which the classifier does anyway)."""
    return any(
        feature.attribute == TEXT and feature.type == FEATURE_TYPE_SENTENCE
        for feature in message.features
    )
