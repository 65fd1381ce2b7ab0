"""Fixes to Rasa 3.6, installed (`apply`, idempotent) by what Rasa itself loads from this
project's config: the first NLU component (`rasa_project.nlu.SpacyNLP`, built with every
model) and the NLG of `endpoints.yml` (`rasa_project.nlg.GuardedNLG`). So they hold
however Rasa is started: `ldn-bot`, a stock `rasa run` or `rasa shell` (a test starts
each). Nothing is patched at import.

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
now the message is parsed by `rasa_project.nlu_guard.fail_closed_parse` (the guard detector
alone: a safety intent when it fires or fails, `nlu_failed` otherwise).

5. The action server can only name responses. Rasa lets a custom action's reply carry
its own `text`, buttons, custom JSON, attachments and any event (a `BotUttered` is sent
as it is), so whoever holds the action port could make the bot say anything. Every reply
is now checked against `ldn_bot.guard.action_reply` (domain response names, known article
citations and the exact article text for them, the guard verdict, `last_topic` set to a
known topic; for `action_session_start` exactly the disclaimer and the session start
events) before Rasa uses any of it. A refused reply is logged (ERROR, naming the action
and what was refused, never its text) and the turn gets the dosing referral; a refused
session start falls back to Rasa's own session start plus the disclaimer. A rejection
(HTTP 400) is refused the same way: the domain has no forms, so no action ever rejects.

6. The output guard sees every outgoing message. Every `BotUttered` event, whatever
produced it (a template, an action, a policy), is checked by
`ldn_bot.guard.outgoing.check_outgoing` (text, button and quick-reply titles and
payloads, custom JSON, attachments, images, elements, metadata) before it is logged on
the tracker (so neither the conversation store nor the ledger keeps it) and again before
it is handed to any output channel (REST, socket.io, Slack, in-process `ask`/`chat`).
A leaking message is replaced by the dosing referral and logged once with the rule.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from functools import lru_cache, wraps
from typing import Any, cast

from jsonschema.exceptions import ValidationError, best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import (
    ActionBotResponse,
    ActionExecutionRejection,
    ActionSessionStart,
    RemoteAction,
    create_bot_utterance,
)
from rasa.core.channels.channel import OutputChannel
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import ClientResponseError

from ldn_bot.guard.action_reply import ReplyContract, refusal
from ldn_bot.guard.outgoing import OutgoingLeak, check_outgoing
from ldn_bot.guard.verdict import Category
from ldn_bot.routing import SAFETY_RESPONSE

logger = logging.getLogger(__name__)

CANNOT_ANSWER_NOW = "utter_cannot_answer_now"
DISCLAIMER = "utter_disclaimer"
REFERRAL = SAFETY_RESPONSE[Category.DOSING]
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")

# The contract of the action being run, set by `_run_guarded` around Rasa's call.
_contract: ContextVar[ReplyContract | None] = ContextVar("ldn_bot_reply_contract", default=None)


class RefusedReply(Exception):
    """An action-server reply that names more than responses and article units."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reply_contract(domain: Domain) -> ReplyContract:
    """What an action-server reply may name, for this domain and the article."""
    return _contract_for(frozenset(domain.responses), frozenset(slot.name for slot in domain.slots))


@lru_cache(maxsize=4)
def _contract_for(responses: frozenset[str], slots: frozenset[str]) -> ReplyContract:
    from ldn_bot.knowledge.base import knowledge_base
    from ldn_bot.settings import ARTICLE_PATH

    return ReplyContract.build(knowledge_base(ARTICLE_PATH), responses=responses, slots=slots)


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    error = best_match(_validator().iter_errors(result))
    if error is None:
        contract = _contract.get()
        if contract is None:
            raise RefusedReply("no reply contract (the action ran outside the guarded run)")
        reason = refusal(self.name(), result, contract)
        if reason is not None:
            raise RefusedReply(reason)
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
async def _run_guarded(
    self: RemoteAction,
    output_channel: OutputChannel,
    nlg: NaturalLanguageGenerator,
    tracker: DialogueStateTracker,
    domain: Domain,
) -> list[Event]:
    try:
        contract: ReplyContract | None = reply_contract(domain)
    except Exception:  # without a contract every reply is refused
        logger.exception("could not build the action reply contract; refusing replies")
        contract = None
    token = _contract.set(contract)
    try:
        return await _rasa_remote_run(self, output_channel, nlg, tracker, domain)
    except ActionExecutionRejection:
        if domain.form_names:
            raise  # the action declined on purpose (forms): Rasa predicts another one
        logger.error("action server rejected %s, which never rejects; refused", self.name())
        instead = REFERRAL
    except RefusedReply as refused:
        logger.error(
            "action server reply to %s refused (%s); answering with the referral",
            self.name(),
            refused.reason,
        )
        instead = REFERRAL
    except Exception as error:  # unreachable, timed out, an error or a malformed reply
        logger.error(
            "custom action %s failed (%s); answering without it", self.name(), _described(error)
        )
        instead = CANNOT_ANSWER_NOW
    finally:
        _contract.reset(token)
    if self.name() == ACTION_SESSION_START_NAME:
        started = await ActionSessionStart().run(output_channel, nlg, tracker, domain)
        disclaimer = await ActionBotResponse(DISCLAIMER).run(output_channel, nlg, tracker, domain)
        return [*disclaimer, *started]
    return await ActionBotResponse(instead).run(output_channel, nlg, tracker, domain)


def _described(error: Exception) -> str:
    """The error for the log; a malformed reply by where it broke the schema, not by the
    reply's own text (which quotes what the action server sent)."""
    if isinstance(error, ValidationError):
        where = "/".join(map(str, error.absolute_schema_path))
        return f"a reply that does not match the action reply schema at {where or '/'}"
    if isinstance(error.__cause__, ClientResponseError):  # its message quotes the body
        return f"{type(error).__name__}: HTTP {error.__cause__.status} from the action server"
    return f"{type(error).__name__}: {str(error).split(' Error: ')[0][:300]}"


def guard_outgoing(domain: Domain, events: list[Event] | None, sender_id: str) -> None:
    """Replace, in place, the `BotUttered` events in `events` by the referral when they leak.

    They are read together (a client shows them one under the other, so a dose can be
    split across two); when they leak, the first becomes the referral and the others
    are dropped, so the person gets one referral and no part of the dose.
    """
    said = [index for index, event in enumerate(events or []) if isinstance(event, BotUttered)]
    if not events or not said:
        return
    messages = [cast(BotUttered, events[index]).message() for index in said]
    leak = _check_messages(messages)
    if leak is None:
        return
    source = _source(cast(BotUttered, events[said[0]])) if len(said) == 1 else "messages"
    events[said[0]] = _referral(domain, leak, source, sender_id)
    for index in reversed(said[1:]):
        del events[index]


def _check_messages(messages: list[dict[str, Any]]) -> OutgoingLeak | None:
    """`check_outgoing` on messages read together, once per content: the same events are
    checked before they are logged and again before they are sent."""
    try:
        key = json.dumps(messages, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return check_outgoing({"messages": messages})  # not JSON: it says why
    return _check_json(key)


@lru_cache(maxsize=128)
def _check_json(key: str) -> OutgoingLeak | None:
    return check_outgoing({"messages": json.loads(key)})


def _source(event: BotUttered) -> str:
    source = event.metadata.get("utter_action") if isinstance(event.metadata, dict) else None
    return source if isinstance(source, str) and _NAME.match(source) else "free text"


def _referral(domain: Domain, leak: OutgoingLeak, source: str, sender_id: str) -> BotUttered:
    """The dosing referral in place of a leaking message (logged once, never its text)."""
    logger.warning(
        "output guard replaced a message (%s; rule %s in %s) for sender %s",
        source,
        leak.rule,
        leak.where,
        sender_id,
    )
    variants = domain.responses.get(REFERRAL) or [{}]
    return create_bot_utterance(
        {
            **{key: value for key, value in variants[0].items() if key in ("text", "buttons")},
            "utter_action": REFERRAL,
            "output_guard": leak.rule,
        }
    )


_rasa_log_action = MessageProcessor._log_action_on_tracker


@wraps(_rasa_log_action)
def _log_action_guarded(
    self: MessageProcessor,
    tracker: DialogueStateTracker,
    action: Any,
    events: list[Event] | None,
    prediction: Any,
) -> None:
    guard_outgoing(self.domain, events, tracker.sender_id)
    guard_outgoing(self.domain, getattr(prediction, "events", None), tracker.sender_id)
    _rasa_log_action(self, tracker, action, events, prediction)


_rasa_send = MessageProcessor._send_bot_messages


async def _send_guarded(
    self: MessageProcessor,
    events: list[Event],
    tracker: DialogueStateTracker,
    output_channel: OutputChannel,
) -> None:
    """Rasa's `_send_bot_messages` (every message to every channel), guarded."""
    guard_outgoing(self.domain, events, tracker.sender_id)
    await _rasa_send(events, tracker, output_channel)


_rasa_parse = MessageProcessor._parse_message_with_graph


@wraps(_rasa_parse)
def _parse_or_fail_closed(
    self: MessageProcessor, message: Any, tracker: DialogueStateTracker, *args: Any, **kwargs: Any
) -> dict[str, Any]:
    try:
        return _rasa_parse(self, message, tracker, *args, **kwargs)
    except Exception:
        from rasa_project.nlu_guard import fail_closed_parse

        logger.exception("NLU failed on a message; answering from the guard alone")
        return fail_closed_parse(message.text or "", tracker)


def apply() -> None:
    """Install the fixes (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    FailSafeTrackerStore.init_tracker = _init_tracker  # type: ignore[method-assign]
    RemoteAction.run = _run_guarded  # type: ignore[method-assign]
    MessageProcessor._log_action_on_tracker = _log_action_guarded  # type: ignore[method-assign]
    MessageProcessor._send_bot_messages = _send_guarded  # type: ignore[method-assign,assignment]
    MessageProcessor._parse_message_with_graph = _parse_or_fail_closed  # type: ignore[method-assign]
