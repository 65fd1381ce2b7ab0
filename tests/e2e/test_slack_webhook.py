"""Slack, fully offline: signed Events API requests posted to `ldn-bot serve`'s webhook,
replies recorded by a fake Slack Web API on loopback (`fake_slack.py`)."""

from __future__ import annotations

import itertools
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from fake_slack import BOT_ID, BOT_USER, FakeSlackAPI, event_callback, sign

REFERRAL = "ask your doctor"
_ids = itertools.count(1)


def _fresh(prefix: str) -> str:
    return f"{prefix}{os.getpid()}X{next(_ids):04d}"


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
