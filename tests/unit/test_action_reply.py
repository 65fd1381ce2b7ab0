"""What the action server may say (`ldn_bot.guard.action_reply`): exactly what the
project's actions send is accepted, and anything else (free text, buttons, custom JSON,
attachments, events, unknown names, text smuggled in template values) is refused."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml
from action_replies import article_reply, every_real_reply, hostile
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import fuzz

from ldn_bot.guard.action_reply import ReplyContract, refusal
from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.settings import Settings


@pytest.fixture(scope="module")
def contract(cfg: Settings, kb: KnowledgeBase) -> ReplyContract:
    domain = yaml.safe_load(cfg.domain_path.read_text(encoding="utf-8"))
    return ReplyContract.build(kb, responses=domain["responses"], slots=domain["slots"])


def test_every_reply_the_projects_actions_send_is_accepted(
    kb: KnowledgeBase, contract: ReplyContract
) -> None:
    replies = every_real_reply(kb)
    assert len(replies) > 40
    refused = [(action, refusal(action, reply, contract)) for action, reply in replies]
    assert [r for r in refused if r[1] is not None] == []


HOSTILE = [
    "free_text",
    "dose_split_across_messages",
    "text_beside_a_response",
    "button_title",
    "button_payload",
    "custom_payload",
    "attachment",
    "image",
    "elements",
    "quick_replies",
    "answer_param",
    "source_param",
    "extra_param",
    "unknown_response",
    "response_name_is_text",
    "unknown_citation",
    "citations_of_another_answer",
    "verdict_with_text",
    "bot_uttered_event",
    "user_uttered_event",
    "other_slot",
    "topic_is_text",
    "reminder",
    "unknown_reply_key",
    "session_start_without_disclaimer",
    "session_start_with_free_text",
    "session_start_with_other_response",
    "session_start_with_extra_event",
]


@pytest.mark.parametrize("change", HOSTILE)
def test_free_text_from_the_action_server_is_refused(
    kb: KnowledgeBase, contract: ReplyContract, change: str
) -> None:
    action, reply = hostile(kb, change)
    reason = refusal(action, reply, contract)
    assert reason is not None
    assert "4.5" not in reason and not re.search(r"\bmg\b", reason)  # the log never repeats it


@pytest.mark.parametrize("reply", [None, [], "text", {"responses": "x"}, {"events": {}}])
def test_a_reply_that_is_not_the_expected_shape_is_refused(
    contract: ReplyContract, reply: Any
) -> None:
    assert refusal("action_answer_article", reply, contract) is not None


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
ITEM_KEYS = [
    "text",
    "buttons",
    "elements",
    "custom",
    "image",
    "attachment",
    "quick_replies",
    "answer",
    "source",
    "citations",
    "template",
    "response",
    "metadata",
    "json_message",
]


@given(key=st.one_of(st.sampled_from(ITEM_KEYS), st.text(max_size=10)), value=json_values)
@fuzz(300)
def test_any_change_to_what_an_action_sends_is_refused(
    kb: KnowledgeBase, contract: ReplyContract, key: str, value: Any
) -> None:
    reply = copy.deepcopy(article_reply(kb))
    item = reply["responses"][0]
    assume(key not in item or item[key] != value)
    item[key] = value
    assert refusal("action_answer_article", reply, contract) is not None


@given(event=st.dictionaries(st.sampled_from(["event", "name", "value", "text"]), json_values))
@fuzz(200)
def test_any_event_but_a_known_topic_is_refused(
    kb: KnowledgeBase, contract: ReplyContract, event: dict[str, Any]
) -> None:
    assume(not (event.get("event") == "slot" and event.get("value") in (None, *kb.topics)))
    reply = copy.deepcopy(article_reply(kb))
    reply["events"].append(event)
    assert refusal("action_answer_article", reply, contract) is not None
