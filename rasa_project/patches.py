"""Fixes to Rasa 3.6, applied by `ldn_bot.runtime` before any agent runs.

1. Action results are validated with a validator built once.

`RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)` on
every custom action reply. That re-validates the constant schema against the JSON Schema
meta-schema each time, and with the jsonschema 4.17 Rasa installs this was over half of
the Rasa server's CPU time per article answer (py-spy, README "Performance"). The
replacement validates against the same schema with a validator built once, raising the
same error (`best_match`, with Rasa's message), so behaviour is unchanged.

2. `FailSafeTrackerStore` (which wraps every tracker store) creates new trackers with the
base class's `init_tracker` instead of the wrapped store's, so a store cannot mark a new
tracker as its own; it now delegates, as it does for every other method.

3. A custom action that cannot run still answers. When the action server is down,
restarting, times out, fails or sends a malformed reply, Rasa logs the error and drops
the action's events, so
the user gets silence. Now the turn says `utter_cannot_answer_now` ("I can't answer that
right now"), and a failed `action_session_start` falls back to Rasa's own session start
plus the disclaimer. The safety replies never need the action server (they are rules).

4. The NLU fails closed. If any NLU component raises, Rasa ends the turn with no reply;
now the message is parsed by `rasa_project.nlu.fail_closed_parse` (the guard detector
alone: a safety intent when it fires or fails, `nlu_failed` otherwise).
"""

from __future__ import annotations

import logging
from functools import lru_cache, wraps
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import (
    ActionBotResponse,
    ActionExecutionRejection,
    ActionSessionStart,
    RemoteAction,
)
from rasa.core.channels.channel import OutputChannel
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

CANNOT_ANSWER_NOW = "utter_cannot_answer_now"
DISCLAIMER = "utter_disclaimer"


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    error = best_match(_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response "
        f"from the Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def _init_tracker(self: FailSafeTrackerStore, sender_id: str) -> DialogueStateTracker:
    return self._tracker_store.init_tracker(sender_id)


_rasa_remote_run = RemoteAction.run


@wraps(_rasa_remote_run)
async def _run_or_apologise(
    self: RemoteAction,
    output_channel: OutputChannel,
    nlg: NaturalLanguageGenerator,
    tracker: DialogueStateTracker,
    domain: Domain,
) -> list[Event]:
    try:
        return await _rasa_remote_run(self, output_channel, nlg, tracker, domain)
    except ActionExecutionRejection:
        raise  # the action declined on purpose (forms): Rasa predicts another one
    except Exception as error:  # unreachable, timed out, an error or a malformed reply
        logger.error("custom action %s failed (%r); answering without it", self.name(), error)
    if self.name() == ACTION_SESSION_START_NAME:
        started = await ActionSessionStart().run(output_channel, nlg, tracker, domain)
        disclaimer = await ActionBotResponse(DISCLAIMER).run(output_channel, nlg, tracker, domain)
        return [*disclaimer, *started]
    return await ActionBotResponse(CANNOT_ANSWER_NOW).run(output_channel, nlg, tracker, domain)


_rasa_parse = MessageProcessor._parse_message_with_graph


@wraps(_rasa_parse)
def _parse_or_fail_closed(
    self: MessageProcessor, message: Any, tracker: DialogueStateTracker, *args: Any, **kwargs: Any
) -> dict[str, Any]:
    try:
        return _rasa_parse(self, message, tracker, *args, **kwargs)
    except Exception:
        from rasa_project.nlu import fail_closed_parse

        logger.exception("NLU failed on a message; answering from the guard alone")
        return fail_closed_parse(message.text or "", tracker)


def apply() -> None:
    """Install the fixes (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    FailSafeTrackerStore.init_tracker = _init_tracker  # type: ignore[method-assign]
    RemoteAction.run = _run_or_apologise  # type: ignore[method-assign]
    MessageProcessor._parse_message_with_graph = _parse_or_fail_closed  # type: ignore[method-assign]
