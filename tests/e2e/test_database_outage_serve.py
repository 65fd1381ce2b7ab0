"""The database going away and coming back under `ldn-bot serve`: the bot keeps answering,
nothing stored is lost or changed, and what happened meanwhile is stored once the database
is back. The test stops a real PostgreSQL under `ldn-bot serve`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from services import running_services, start_postgres, stop_postgres
from serving import serving
from sqlalchemy.engine import Engine
from stored_events import stored_rows, user_texts

from ldn_bot.ledger.models import LedgerTurn
from ldn_bot.ledger.store import sender_hash
from ldn_bot.settings import Settings

BEFORE = {"alice": ["hello", "what is multiple sclerosis?"]}
DURING = {
    "alice": [
        "what did the 2017 study find?",
        "how much LDN should I take?",
        "tell me more",
        "and how much of it should I take?",
    ],
    "bob": ["hello", "how much LDN should I take?", "what are the side effects?"],
}
AFTER = {"alice": ["thanks"], "bob": ["bye"]}
DOSE_QUESTIONS = {"how much LDN should I take?", "and how much of it should I take?"}
SALT = "outage-test-salt"


def say(url: str, sender: str, text: str) -> str:
    """One REST message; the reply's texts joined."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        assert reply.status == 200
        return " ".join(str(m.get("text", "")) for m in json.loads(reply.read())).strip()


def health_of(url: str) -> tuple[int, dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/health", timeout=10) as reply:
        return reply.status, json.loads(reply.read())


def wait_for(check: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def ledger_turns(engine: Engine, senders: Iterable[str]) -> int:
    hashes = [sender_hash(sender, SALT) for sender in senders]
    query = sa.select(sa.func.count()).select_from(LedgerTurn)
    with engine.connect() as connection:
        return int(connection.scalar(query.where(LedgerTurn.sender_hash.in_(hashes))) or 0)


@pytest.mark.model
@pytest.mark.services
def test_serve_answers_through_a_postgresql_outage_and_stores_it_all_afterwards(
    cfg: Settings, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    referral = yaml.safe_load((cfg.root / "domain.yml").read_text())["responses"][
        "utter_dosing_referral"
    ][0]["text"]
    # Not under pytest's tmp root: a concurrent pytest session resets its mode to 0700,
    # and the postgres user could then no longer reach its data to stop or start it.
    services = Path(tempfile.mkdtemp(prefix="ldn-outage-"))
    var = tmp_path_factory.mktemp("outage-var")
    with running_services(services) as env:
        database = env["LDN_BOT_DATABASE_URL"]
        engine = sa.create_engine(database, future=True, pool_pre_ping=True)
        with serving(cfg, var, {"LDN_BOT_DATABASE_URL": database, "LDN_BOT_SALT": SALT}) as bot:
            for sender, texts in BEFORE.items():
                assert all(say(bot, sender, text) for text in texts)
            before = stored_rows(engine)
            assert user_texts(engine, "rest:alice") == BEFORE["alice"]  # REST's namespace

            stop_postgres(services)
            with pytest.raises(sa.exc.OperationalError):  # the outage is real
                engine.connect().close()
            replies = {
                (sender, text): say(bot, sender, text)
                for sender, texts in DURING.items()
                for text in texts
            }
            status, health = health_of(bot)
            assert (status, health["status"]) == (200, "degraded")
            assert health["conversations"]["available"] is False
            assert "OperationalError" in health["conversations"]["last_error"]
            waiting = health["conversations"]["pending_events"]
            assert waiting > 0

            start_postgres(services)
            wait_for(
                lambda: health_of(bot)[1]["conversations"]["pending_events"] == 0,
                "the events kept during the outage to be written",
            )
            for sender, texts in AFTER.items():
                assert all(say(bot, sender, text) for text in texts)
            turns = sum(len(texts) for phase in (BEFORE, DURING, AFTER) for texts in phase.values())
            rest_senders = [f"rest:{sender}" for sender in DURING]
            wait_for(lambda: ledger_turns(engine, rest_senders) == turns, "every turn's ledger row")
            status, health = health_of(bot)
        log = (var / "serve.log").read_text()
        after = stored_rows(engine)
        stored = {sender: user_texts(engine, f"rest:{sender}") for sender in DURING}
        ledger_rows = ledger_turns(engine, rest_senders)
        engine.dispose()
    shutil.rmtree(services, ignore_errors=True)

    lost_replies = [key for key, reply in replies.items() if not reply]
    assert lost_replies == []
    for (_sender, text), reply in replies.items():
        assert (referral in reply) == (text in DOSE_QUESTIONS), (text, reply)
    assert log.count("conversations: the database is unreachable") == 1
    assert log.count("conversations: the database is back") == 1
    assert (status, health["status"], health["conversations"]["dropped_events"]) == (200, "ok", 0)
    assert health["ledger"]["dropped"] == 0

    assert after[: len(before)] == before  # nothing stored before the outage changed
    for sender in DURING:
        expected = BEFORE.get(sender, []) + DURING[sender] + AFTER[sender]
        assert stored[sender] == expected  # each message once, in order
    assert ledger_rows == turns
    print(
        f"\noutage: {len(replies)} messages sent, {len(lost_replies)} replies lost; "
        f"{waiting} events waited in memory; {len(after) - len(before)} events stored after "
        f"the outage began (all written after recovery); lost: "
        f"{turns - ledger_rows} ledger rows, {health['conversations']['dropped_events']} events"
    )
