"""Slack, fully offline: signed Events API requests posted to `ldn-bot serve`'s webhook,
replies recorded by a fake Slack Web API on loopback (`fake_slack.py`)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
import yaml
from fake_slack import BOT_ID, BOT_USER, FakeSlackAPI, event_callback, sign

from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.settings import Settings
from ldn_bot.slack import (
    WEBHOOK_PATH,
    SlackConfig,
    SlackConfigError,
    clean_incoming,
    linked_citation,
    public_base,
    slack_message,
    triage_event,
)
from ldn_bot.slack_events import MemoryEventLedger

REFERRAL = "ask your doctor"
_ids = itertools.count(1)


def _fresh(prefix: str) -> str:
    return f"{prefix}{os.getpid()}X{next(_ids):04d}"


# --- settings ---------------------------------------------------------------------------


def test_slack_is_off_without_variables() -> None:
    assert SlackConfig.from_env({}) is None


def test_slack_settings_from_the_environment() -> None:
    config = SlackConfig.from_env(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_CHANNEL": "C1"}
    )
    assert config == SlackConfig(bot_token="xoxb-1", signing_secret="s", channel="C1")


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN is not"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": " "}, "SLACK_SIGNING_SECRET is not"),
        ({"SLACK_CHANNEL": "C1"}, "SLACK_CHANNEL is set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user", "SLACK_SIGNING_SECRET": "s"}, "xoxb-"),
    ],
)
def test_half_set_slack_settings_say_what_is_missing(environ: dict, says: str) -> None:
    with pytest.raises(SlackConfigError, match=says):
        SlackConfig.from_env(environ)


def test_serve_with_half_set_slack_exits_with_a_message_not_a_traceback(cfg: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    result = subprocess.run(
        [sys.executable, "-m", "rasa_project", "serve", "--port", "1"],
        cwd=cfg.root,
        env={**env, "SLACK_BOT_TOKEN": "xoxb-only-the-token"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "SLACK_SIGNING_SECRET is not" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# --- triage, text and formatting ---------------------------------------------------------


def _event(**kwargs: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {"user": "U1", "channel": "D1", "ts": "1.000100", "event_id": "Ev1"}
    return event_callback(kwargs.pop("text", "what is LDN?"), **{**defaults, **kwargs})


def test_a_direct_message_is_answered_in_the_dm_not_in_a_thread() -> None:
    delivery = triage_event(_event())
    assert not isinstance(delivery, str)
    assert (delivery.channel, delivery.thread_ts, delivery.text) == ("D1", None, "what is LDN?")
    assert delivery.dedup_keys == ("event:Ev1", "message:D1:1.000100")


def test_a_mention_is_answered_in_the_thread_of_the_message() -> None:
    delivery = triage_event(
        _event(kind="app_mention", channel="C1", text=f"<@{BOT_USER}> what is LDN?")
    )
    assert not isinstance(delivery, str)
    assert (delivery.channel, delivery.thread_ts, delivery.text) == (
        "C1",
        "1.000100",
        "what is LDN?",
    )


def test_a_mention_inside_a_thread_stays_in_that_thread() -> None:
    delivery = triage_event(_event(kind="app_mention", channel="C1", thread_ts="0.5"))
    assert not isinstance(delivery, str) and delivery.thread_ts == "0.5"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"bot_id": BOT_ID}, "bot"),
        ({"user": BOT_USER}, "own"),
        ({"subtype": "message_changed"}, "subtype"),
        ({"subtype": "bot_message"}, "subtype"),
        ({"channel": "C9", "channel_type": "channel"}, "without a mention"),
        ({"kind": "reaction_added"}, "event type"),
    ],
)
def test_events_that_are_not_a_person_asking_are_ignored(overrides: dict, reason: str) -> None:
    verdict = triage_event(_event(**overrides))
    assert isinstance(verdict, str) and reason in verdict


@pytest.mark.parametrize(
    "overrides",
    [
        {"user": "U1\ud800"},
        {"channel": "D1\ud800"},
        {"user": "U1\x00"},
        {"channel": "D" * 65},
        {"ts": "1.1\ud800"},
        {"thread_ts": "1.0\n"},
    ],
    ids=["surrogate-user", "surrogate-channel", "nul-user", "long-channel", "ts", "thread_ts"],
)
def test_events_whose_ids_are_not_slack_ids_are_ignored(overrides: dict) -> None:
    assert triage_event(_event(**overrides)) == "ids that are not Slack ids"


def test_messages_in_the_configured_channel_are_answered_without_a_mention() -> None:
    event = _event(channel="C9", channel_type="channel")
    assert not isinstance(triage_event(event, answer_channel="C9"), str)


def test_slack_markup_in_questions_is_read_as_the_person_typed_it() -> None:
    text = f"<@{BOT_USER}> is <https://example.org|this> true &amp; safe &lt;3 <#C1|ms-chat>"
    assert clean_incoming(text, [BOT_USER]) == "is this true & safe <3 #ms-chat"


def test_an_answer_has_its_citation_as_a_compact_context_line() -> None:
    message = slack_message("LDN is <b>a drug</b> & more.\n\n📄 Source: MNT 2019; sentences s08")
    section, context = message["blocks"]
    assert section == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": ("LDN is &lt;b&gt;a drug&lt;/b&gt; &amp; more.")},
    }
    assert context["type"] == "context"
    assert context["elements"][0]["text"] == "📄 _MNT 2019; sentences s08_"
    assert "<" not in message["text"]


def _answer_reply(kb: KnowledgeBase, topic: str) -> tuple[str, list[str]]:
    answer = kb.answer(topic)
    assert answer is not None
    return f"{answer.text}\n\n📄 Source: {answer.source}", list(answer.citations)


def test_with_a_public_address_the_source_links_to_the_quoted_passage(
    kb: KnowledgeBase,
) -> None:
    text, citations = _answer_reply(kb, "study_longterm")
    linked = linked_citation(
        text, article=kb.article, citations=citations, public_url="https://bot.example"
    )
    message = slack_message(text, linked=linked)
    context = [block for block in message["blocks"] if block["type"] == "context"]
    assert context[0]["elements"][0]["text"] == (
        "📄 _Medical News Today, 12 June 2019 · <https://bot.example/article?q=s24,s25,s26,r3#s24"
        "|read the passage>. Cited: Ludwig, M. D., et al. (2016). Long-term treatment with "
        "low dose naltrexone maintains stable health in patients with multiple sclerosis._"
    )
    assert "<" not in message["text"]  # the notification text stays plain


def test_without_a_public_address_the_source_line_is_plain_text(kb: KnowledgeBase) -> None:
    text, citations = _answer_reply(kb, "off_label")
    linked = linked_citation(text, article=kb.article, citations=citations, public_url=None)
    assert linked is None
    context = [b for b in slack_message(text, linked=linked)["blocks"] if b["type"] == "context"]
    assert context[0]["elements"][0]["text"] == "📄 _Medical News Today, 12 June 2019_"


def test_a_reply_that_is_not_the_answer_of_its_citations_gets_no_link(kb: KnowledgeBase) -> None:
    _, citations = _answer_reply(kb, "off_label")
    other = "Please ask your doctor.\n\n📄 Source: somewhere else"
    assert (
        linked_citation(other, article=kb.article, citations=citations, public_url="https://b.ex")
        is None
    )


def test_the_public_address_for_links_comes_from_the_environment() -> None:
    config = SlackConfig.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s",
            "LDN_BOT_PUBLIC_URL": " https://bot.example.org/ ",
        }
    )
    assert config is not None and config.public_url == "https://bot.example.org"
    assert public_base(None) is None and public_base("") is None


@pytest.mark.parametrize(
    "url",
    ["bot.example.org", "ftp://bot.example", "https://bot.example/|x", "https://a>b", "https://"],
)
def test_a_public_address_that_would_break_a_link_is_refused(url: str) -> None:
    with pytest.raises(SlackConfigError, match="public address"):
        public_base(url)


def test_buttons_become_an_actions_block() -> None:
    message = slack_message("Hi", [{"title": "Sources", "payload": "/ask_sources"}])
    actions = message["blocks"][-1]
    assert actions["type"] == "actions"
    assert actions["elements"][0]["value"] == "/ask_sources"


def test_the_event_ledger_sees_each_delivery_once_by_any_of_its_keys() -> None:
    ledger = MemoryEventLedger()
    assert ledger.first_time(["event:E1", "message:C:1"])
    assert not ledger.first_time(["event:E1", "message:C:1"])  # a retry
    assert not ledger.first_time(["event:E2", "message:C:1"])  # the same message, other event
    assert ledger.first_time(["event:E3", "message:C:2"])


def test_the_event_ledger_forgets_after_its_ttl() -> None:
    ledger = MemoryEventLedger(ttl=0.01)
    assert ledger.first_time(["event:E1"])
    time.sleep(0.02)
    assert ledger.first_time(["event:E2"])
    assert ledger.first_time(["event:E1"])


# --- end to end through `ldn-bot serve` -----------------------------------------------------


def post(
    url: str, body: bytes, headers: dict[str, str], content_type: str = "application/json"
) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(
        f"{url}/webhooks/slack/webhook",
        data=body,
        headers={"Content-Type": content_type, **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read(), dict(reply.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def send(url: str, envelope: dict[str, Any], **headers: str) -> tuple[int, bytes, dict[str, str]]:
    body = json.dumps(envelope).encode()
    return post(url, body, {**sign(body), **headers})


def texts(posts: list[dict[str, Any]]) -> str:
    return "\n".join(post["text"] for post in posts).lower()


@pytest.mark.model
class TestSlackWebhook:
    def test_a_dm_dosing_question_gets_the_referral_in_the_dm(
        self, server: str, slack_api: FakeSlackAPI
    ) -> None:
        dm = _fresh("D")
        envelope = event_callback(
            "how many mg of LDN should I take at night?",
            user=_fresh("U"),
            channel=dm,
            ts="100.000001",
            event_id=_fresh("Ev"),
        )
        status, _, _ = send(server, envelope)
        assert status == 200
        posts = slack_api.wait_for(dm, count=2)
        assert REFERRAL in texts(posts)
        assert all("thread_ts" not in post and "as_user" not in post for post in posts)
        assert not any(ch.isdigit() for ch in texts(posts[1:]))

    def test_a_dm_article_question_gets_the_answer_with_its_citation(
        self, server: str, slack_api: FakeSlackAPI
    ) -> None:
        dm = _fresh("D")
        envelope = event_callback(
            "what is naltrexone approved for?",
            user=_fresh("U"),
            channel=dm,
            ts="100.000002",
            event_id=_fresh("Ev"),
        )
        send(server, envelope)
        posts = slack_api.wait_for(dm, count=2)
        answer = posts[-1]
        assert "food and drug administration" in answer["text"].lower()
        context = [block for block in answer["blocks"] if block["type"] == "context"]
        # No public address in this server: the source line is plain text, no sentence ids.
        assert context[0]["elements"][0]["text"] == "📄 _Medical News Today, 12 June 2019_"
        assert "<" not in json.dumps(answer["blocks"])

    def test_a_channel_mention_gets_a_threaded_reply(
        self, server: str, slack_api: FakeSlackAPI
    ) -> None:
        channel = _fresh("C")
        envelope = event_callback(
            f"<@{BOT_USER}> can I crush my LDN capsule?",
            user=_fresh("U"),
            channel=channel,
            ts="200.000003",
            event_id=_fresh("Ev"),
            kind="app_mention",
        )
        send(server, envelope)
        posts = slack_api.wait_for(channel, count=2)
        assert REFERRAL in texts(posts)
        assert {post.get("thread_ts") for post in posts} == {"200.000003"}

    @pytest.mark.parametrize(
        "tamper",
        [
            pytest.param(lambda body: {**sign(body, secret="not-the-secret")}, id="bad-signature"),
            pytest.param(lambda body: {}, id="missing-signature"),
            pytest.param(
                lambda body: {"X-Slack-Signature": sign(body)["X-Slack-Signature"]},
                id="missing-timestamp",
            ),
            pytest.param(lambda body: sign(body, timestamp=int(time.time()) - 301), id="stale"),
            pytest.param(
                lambda body: {
                    **sign(body),
                    "X-Slack-Signature": sign(b"other")["X-Slack-Signature"],
                },
                id="signature-of-another-body",
            ),
        ],
    )
    def test_unverified_requests_are_rejected_with_no_reply(
        self, server: str, slack_api: FakeSlackAPI, tamper: Any
    ) -> None:
        dm = _fresh("D")
        body = json.dumps(
            event_callback(
                "what is LDN?", user=_fresh("U"), channel=dm, ts="1.1", event_id=_fresh("Ev")
            )
        ).encode()
        status, _, _ = post(server, body, tamper(body))
        assert status == 401
        time.sleep(2)
        assert slack_api.posts_to(dm) == []

    def test_retries_and_replays_produce_exactly_one_reply(
        self, server: str, slack_api: FakeSlackAPI
    ) -> None:
        dm = _fresh("D")
        envelope = event_callback(
            "what is multiple sclerosis?",
            user=_fresh("U"),
            channel=dm,
            ts="300.000004",
            event_id=_fresh("Ev"),
        )
        assert send(server, envelope)[0] == 200
        for number, reason in [("1", "http_timeout"), ("2", "http_error"), ("3", "unknown")]:
            status, _, headers = send(
                server, envelope, **{"X-Slack-Retry-Num": number, "X-Slack-Retry-Reason": reason}
            )
            assert status == 200
            assert headers.get("X-Slack-No-Retry") == "1"
        time.sleep(1.1)
        assert send(server, envelope)[0] == 200  # a replay, freshly signed
        posts = slack_api.wait_for(dm, count=2, quiet=3)
        assert len(posts) == 2  # the disclaimer and one answer

    def test_a_first_delivery_that_arrives_as_a_retry_is_answered(
        self, server: str, slack_api: FakeSlackAPI
    ) -> None:
        dm = _fresh("D")
        envelope = event_callback(
            "what is LDN?", user=_fresh("U"), channel=dm, ts="1.2", event_id=_fresh("Ev")
        )
        send(server, envelope, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})
        assert len(slack_api.wait_for(dm, count=2)) == 2

    def test_url_verification_is_answered_with_the_challenge(self, server: str) -> None:
        status, body, _ = send(
            server,
            {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9", "type": "url_verification"},
        )
        assert status == 200
        assert json.loads(body) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9"}

    @pytest.mark.parametrize(
        "overrides",
        [{"bot_id": BOT_ID}, {"user": BOT_USER}, {"subtype": "bot_message", "bot_id": "B2"}],
        ids=["bot_id", "own-user", "other-bot"],
    )
    def test_bot_messages_are_ignored(
        self, server: str, slack_api: FakeSlackAPI, overrides: dict
    ) -> None:
        dm = _fresh("D")
        envelope = event_callback(
            "I can't help with dosing.",
            channel=dm,
            ts="1.3",
            event_id=_fresh("Ev"),
            **{"user": _fresh("U"), **overrides},
        )
        assert send(server, envelope)[0] == 200
        time.sleep(2)
        assert slack_api.posts_to(dm) == []

    def test_a_follow_up_in_the_same_dm_continues_the_conversation(
        self, server: str, slack_api: FakeSlackAPI
    ) -> None:
        dm, user = _fresh("D"), _fresh("U")
        send(
            server,
            event_callback(
                "what did the 2017 study find?",
                user=user,
                channel=dm,
                ts="5.1",
                event_id=_fresh("Ev"),
            ),
        )
        slack_api.wait_for(dm, count=2)
        send(
            server,
            event_callback(
                "and how much of it?", user=user, channel=dm, ts="5.2", event_id=_fresh("Ev")
            ),
        )
        posts = slack_api.wait_for(dm, count=3)
        assert len(posts) == 3  # no second disclaimer: one conversation
        assert REFERRAL in posts[-1]["text"].lower()

    @pytest.mark.parametrize("field", ["user", "channel"])
    def test_a_lone_surrogate_in_a_slack_id_does_not_stop_serve(
        self, server: str, slack_api: FakeSlackAPI, field: str
    ) -> None:
        dm, user = _fresh("D"), _fresh("U")
        envelope = event_callback(
            "what is LDN?", user=user, channel=dm, ts="7.1", event_id=_fresh("Ev")
        )
        envelope["event"][field] += "\ud800"  # json.dumps sends it as \\ud800
        assert send(server, envelope)[0] == 200
        time.sleep(2)  # serve used to exit about a second after answering 200
        assert slack_api.posts_to(dm) == [] and slack_api.posts_to(dm + "\ud800") == []
        other = _fresh("D")
        send(
            server,
            event_callback(
                "what is LDN?", user=user, channel=other, ts="7.2", event_id=_fresh("Ev")
            ),
        )
        assert len(slack_api.wait_for(other, count=2)) == 2  # still answering

    def test_malformed_json_is_a_400_not_a_crash(self, server: str) -> None:
        body = b'{"type": "event_callback", "event": '
        status, _, _ = post(server, body, sign(body))
        assert status == 400

    def test_a_button_click_is_answered_like_a_typed_question(
        self, server: str, slack_api: FakeSlackAPI
    ) -> None:
        dm, user = _fresh("D"), _fresh("U")
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "channel": {"id": dm},
            "message": {"ts": "9.1"},
            "actions": [{"type": "button", "value": "/ask_sources", "action_ts": "9.2"}],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        status, _, _ = post(server, body, sign(body), "application/x-www-form-urlencoded")
        assert status == 200
        posts = slack_api.wait_for(dm, count=2)
        assert "source" in texts(posts)
        assert all("thread_ts" not in post for post in posts)


# --- the app manifest an admin installs from ------------------------------------------------


def test_the_manifest_subscribes_to_exactly_what_the_webhook_answers(cfg: Settings) -> None:
    manifest = yaml.safe_load((cfg.root / "rasa_project" / "slack_manifest.yml").read_text())
    settings = manifest["settings"]
    for url in (
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ):
        assert urllib.parse.urlparse(url).scheme == "https"
        assert urllib.parse.urlparse(url).path == WEBHOOK_PATH
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read",
        "im:history",
        "chat:write",
    }
    assert 174 <= len(manifest["display_information"]["long_description"]) <= 4000
    assert settings["socket_mode_enabled"] is False
