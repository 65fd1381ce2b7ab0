"""Custom Rasa NLU components: the project's spaCy pipeline, the intent classifier and
the rule-based steps (typed `/intent`s, scope, unreadable input, language). The guard step is in
`rasa_project.nlu_guard`.

All are thin: the pipeline, the scope check and the language check are `ldn_bot` code
that knows nothing of Rasa.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import (
    LogisticRegressionClassifier as RasaLogisticRegressionClassifier,
)
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.nlu.utils.spacy_utils import SpacyNLP as RasaSpacyNLP
from rasa.shared.nlu.constants import (
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
from ldn_bot.guard.normalize import normalize
from ldn_bot.guard.verdict import Category
from ldn_bot.inputs import NLU_CHARS, PROBLEM_INTENT, input_problem
from ldn_bot.knowledge.article import load_article
from ldn_bot.knowledge.base import knowledge_base
from ldn_bot.knowledge.scope import Scope, ScopeModel, scope_model
from ldn_bot.language import article_words, identify
from ldn_bot.nlp import PIPELINE_VERSION, pipeline
from ldn_bot.payloads import WIDGET_PAYLOADS, as_sent, button_payloads
from ldn_bot.routing import (
    INTENT_CATEGORY,
    LANGUAGE_INTENT,
    NLU_EMERGENCY_THRESHOLD,
    NLU_SAFETY_THRESHOLD,
    SAFETY_INTENT,
)
from ldn_bot.settings import ARTICLE_PATH, DOMAIN_PATH
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
        """A fresh instance with `config` (nothing is loaded)."""
        return cls()

    def process_training_data(self, training_data: Any) -> Any:
        """Training data passes unchanged: nothing to learn."""
        return training_data


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class TypedIntentReader(StatelessClassifier):
    """A typed `/intent` that no button of ours sends is read as the words it holds.

    First in the pipeline, so every step after it, and Rasa's own `RegexMessageHandler`
    after the pipeline, see the words (`ldn_bot.payloads`): however Rasa was started
    (`rasa run`, `rasa shell`), `/back` does not rewind the conversation and
    `/ask_x{...}` does not pick an answer past the guard. Under `ldn-bot serve` and the
    terminal chat the words arrive already (their channels store them), and this changes
    nothing.
    """

    def process(self, messages: list[Message]) -> list[Message]:
        """Replace each message's text by the text Rasa should read."""
        allowed = _button_payloads()
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and text:
                message.set(TEXT, as_sent(text, allowed))
        return messages


@lru_cache(maxsize=1)
def _button_payloads() -> frozenset[str]:
    """The payloads of the domain's buttons; the widget's alone if it cannot be read (then
    a button's `/intent` is read as words: the safe side)."""
    try:
        domain = yaml.safe_load(DOMAIN_PATH.read_text(encoding="utf-8"))
        return button_payloads(domain["responses"])
    except Exception:
        logger.exception("cannot read the domain's buttons; every typed /intent is read as words")
        return WIDGET_PAYLOADS


def set_intent(message: Message, intent: str | None) -> None:
    """Give `message` the intent a rule step decided (confidence 1, first in the ranking)."""
    decided = {INTENT_NAME_KEY: intent, "confidence": 1.0}
    message.set(INTENT, decided, add_to_output=True)
    ranking = message.get(INTENT_RANKING_KEY) or []
    message.set(INTENT_RANKING_KEY, [decided, *ranking], add_to_output=True)


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
        """Set the scope intent (off topic, not covered) on each message the scope check places."""
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if intent not in article_intents():
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
        """Give each message that cannot be read (empty, too long, binary) its input intent."""
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
        """Give each message in another language the language intent (the guard still reads it)."""
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
def article_intents() -> frozenset[str]:
    """The intents of the article's topics."""
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
        """Classify the messages that have features; the others keep no intent (fallback)."""
        featurized = [m for m in messages if _has_sentence_features(m)]
        if featurized:
            super().process(featurized)
        for message in messages:
            if message.get(INTENT) is None:
                message.set(INTENT, {INTENT_NAME_KEY: None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        return messages

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LogisticRegressionClassifier:
        """Rasa's load, finding the saved classifier whatever node name it was saved under.

        Rasa's training cache restores a node's output from an earlier training where the
        component sat elsewhere in the pipeline: the folder takes this node's name, the file
        keeps the earlier one's (`...LogisticRegressionClassifier6.skops` in `...5`), and
        Rasa's own load, which looks for `<this node>.skops`, failed: a model that loads
        nowhere, after adding or removing a pipeline step.
        """
        import skops.io as sio

        with model_storage.read_from(resource) as model_dir:
            saved = sorted(model_dir.glob("*.skops"))
            if len(saved) != 1:
                return super().load(config, model_storage, resource, execution_context, **kwargs)
            untrusted = sio.get_untrusted_types(file=saved[0])
            if untrusted:
                raise ValueError(f"untrusted types in {saved[0].name}: {untrusted}")
            component = cls(config, execution_context.node_name, model_storage, resource)
            component.clf = sio.load(saved[0], trusted=[])
            return component


def _has_sentence_features(message: Message) -> bool:
    """Whether the featurizers gave the text sentence-level features (without combining
    them, which the classifier does anyway)."""
    return any(
        feature.attribute == TEXT and feature.type == FEATURE_TYPE_SENTENCE
        for feature in message.features
    )
