"""NLU graph components for understanding article questions (thin glue).

- `CalibratedFallbackClassifier`: Rasa's FallbackClassifier with one bar per kind of
  intent (`ldn_bot.confidence`; the values and how they were chosen are in config.yml).
- `InvitationClassifier`: "what does the article say about X", "tell me about X",
  "X?" ask for topic X (`ldn_bot.knowledge.invitation`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from ldn_bot.confidence import SAFETY_INTENTS, Bars, falls_back, small_talk_vocabulary
from ldn_bot.knowledge.base import knowledge_base
from ldn_bot.knowledge.invitation import invited_topic
from ldn_bot.settings import ARTICLE_PATH
from rasa_project.nlu import StatelessClassifier, set_intent

logger = logging.getLogger(__name__)

INVITATION_KEY = "invitation"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CalibratedFallbackClassifier(FallbackClassifier):
    """The fallback intent below the bar of the predicted intent's kind, and for small
    talk that shares no word with the small-talk training examples (kept with the model)."""

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage | None = None,
        resource: Resource | None = None,
        small_talk_words: frozenset[str] | None = None,
    ) -> None:
        super().__init__(config)
        self._model_storage = model_storage
        self._resource = resource
        self.small_talk_words = small_talk_words

    @classmethod
    def required_components(cls) -> list[type]:
        """None, though it runs after the intent classifier (see the comment)."""
        # It reads only the training texts and intents; at prediction time config.yml puts
        # it after the intent classifier. (Rasa's check would ask for a classifier before
        # its training node, where none is.)
        return []

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Rasa's fallback settings plus the small-talk and safety bars."""
        return {
            **FallbackClassifier.get_default_config(),
            "small_talk_threshold": 0.0,
            "safety_threshold": 0.25,
        }

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CalibratedFallbackClassifier:
        """A classifier with `config` over the defaults (no vocabulary yet)."""
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Keep the small-talk vocabulary of the training examples with the model."""
        examples = [(m.get(TEXT) or "", m.get(INTENT)) for m in training_data.intent_examples]
        self.small_talk_words = small_talk_vocabulary(examples)
        assert self._model_storage is not None and self._resource is not None
        with self._model_storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(
                json.dumps(sorted(self.small_talk_words)), encoding="utf-8"
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CalibratedFallbackClassifier:
        """The classifier with its vocabulary; with the bars alone if the model has none."""
        try:
            with model_storage.read_from(resource) as directory:
                words = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        except (ValueError, OSError):  # no vocabulary: only the bars apply
            logger.warning("no small-talk vocabulary in the model; using the bars alone")
            return cls.create(config, model_storage, resource, execution_context)
        instance = cls.create(config, model_storage, resource, execution_context)
        instance.small_talk_words = frozenset(words)
        return instance

    def _should_fallback(self, message: Message) -> bool:
        config = self.component_config
        bars = Bars(
            threshold=float(config["threshold"]),
            small_talk=float(config["small_talk_threshold"]),
            safety=float(config["safety_threshold"]),
            ambiguity=float(config["ambiguity_threshold"]),
        )
        intent = message.get(INTENT) or {}
        ranking = message.get(INTENT_RANKING_KEY) or []
        runner_up = ranking[1].get("confidence") if len(ranking) >= 2 else None
        return falls_back(
            intent.get(INTENT_NAME_KEY),
            intent.get("confidence"),
            runner_up,
            bars,
            text=message.get(TEXT) or "",
            small_talk_words=self.small_talk_words,
        )


VOCABULARY_FILE = "small_talk_words.json"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class InvitationClassifier(StatelessClassifier):
    """A whole-message invitation naming one topic gets that topic's intent.

    Never replaces a safety intent; the scope check, the language check and the
    guard still run after it.
    """

    def process(self, messages: list[Message]) -> list[Message]:
        """Give a whole-message invitation its topic's intent (never over a safety intent)."""
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if intent in SAFETY_INTENTS:
                continue
            try:
                topic = invited_topic(knowledge_base(ARTICLE_PATH), message.get(TEXT) or "")
            except Exception:  # the NLU's intent stands; the guard still runs
                logger.exception("invitation check failed; keeping the NLU intent")
                continue
            if topic is None or topic.intent == intent:
                continue
            set_intent(message, topic.intent)
            message.set(
                INVITATION_KEY, {"topic": topic.id, "nlu_intent": intent}, add_to_output=True
            )
        return messages
