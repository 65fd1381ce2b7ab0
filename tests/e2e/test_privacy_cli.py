"""`ldn-bot ask` writes conversations and ledger rows; `report`, `forget` and `purge` work
on them, on the default SQLite file and on PostgreSQL chosen by configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ldn_bot.ledger.schema import VERSION_TABLE
from ldn_bot.settings import Settings

pytestmark = pytest.mark.model


def ldn_bot(cfg: Settings, env: dict[str, str], *args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-m", "rasa_project", *args],
        cwd=cfg.root,
        env={**os.environ, **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(params=["sqlite", "postgresql"])
def store_env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    env = {"LDN_BOT_VAR": str(tmp_path / "var"), "LDN_BOT_SALT": "cli-salt"}
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_redis")["LDN_BOT_DATABASE_URL"]
        with create_engine(url, future=True).begin() as connection:
            for table in ("ledger_votes", "ledger_turns", VERSION_TABLE, "events"):
                connection.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
        env["LDN_BOT_DATABASE_URL"] = url
    return env


def count(env: dict[str, str], query: str) -> int:
    url = env.get("LDN_BOT_DATABASE_URL") or f"sqlite:///{env['LDN_BOT_VAR']}/conversations.sqlite"
    with create_engine(url, future=True).connect() as connection:
        return int(connection.scalar(text(query)) or 0)


def test_ask_report_forget_purge(cfg: Settings, trained_model: Path, store_env: dict) -> None:
    questions = "what is naltrexone approved for?\nhow much LDN should I take?\nwho won the cup?\n"
    ldn_bot(cfg, store_env, "ask", "--json", "--session", "alice", stdin=questions)
    ldn_bot(cfg, store_env, "ask", "--json", "--session", "bob", "hello")
    if "LDN_BOT_DATABASE_URL" not in store_env:
        assert (Path(store_env["LDN_BOT_VAR"]) / "conversations.sqlite").exists()
    assert count(store_env, "SELECT count(*) FROM ledger_turns") == 4
    assert count(store_env, "SELECT count(*) FROM ledger_turns WHERE channel = 'cli'") == 4

    out = Path(store_env["LDN_BOT_VAR"]) / "report.html"
    summary = ldn_bot(cfg, store_env, "report", "--out", str(out))
    assert out.exists() and "<svg" in out.read_text()
    assert "who won the cup?" in out.read_text()  # an unanswered question, from the store
    assert str(out) in summary

    said = ldn_bot(cfg, store_env, "forget", "alice")
    assert "3 ledger row(s)" in said
    assert count(store_env, "SELECT count(*) FROM events WHERE sender_id = 'alice'") == 0
    assert count(store_env, "SELECT count(*) FROM ledger_turns") == 1
    assert "Nothing stored" in ldn_bot(cfg, store_env, "forget", "alice")

    assert "0 ledger row(s)" in ldn_bot(cfg, store_env, "purge")  # 90 days: bob stays
    assert "1 ledger row(s)" in ldn_bot(cfg, store_env, "purge", "--days", "0", "--yes")
    assert count(store_env, "SELECT count(*) FROM events") == 0


def test_purge_says_what_it_would_delete_and_asks(
    cfg: Settings, trained_model: Path, store_env: dict
) -> None:
    """purge deleted at once, without saying what; now it says, and deletes only with
    --yes or a "y" on the terminal; --dry-run and a refusal delete nothing."""
    ldn_bot(cfg, store_env, "ask", "--json", "--session", "carol", "hello")
    said = ldn_bot(cfg, store_env, "purge")  # 90 days: carol stays
    assert "0 ledger row(s)" in said and "Nothing to delete." in said
    events = count(store_env, "SELECT count(*) FROM events")
    said = ldn_bot(cfg, store_env, "purge", "--days", "0", "--dry-run")
    assert f"1 conversation(s): {events} conversation event(s), 1 ledger row(s)" in said
    assert "nothing deleted" in said
    refused = purge_without_yes(cfg, store_env)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert count(store_env, "SELECT count(*) FROM ledger_turns") == 1
    assert count(store_env, "SELECT count(*) FROM events") == events
    assert "1 ledger row(s)" in ldn_bot(cfg, store_env, "purge", "--days", "0", "--yes")
    assert count(store_env, "SELECT count(*) FROM events") == 0


def purge_without_yes(cfg: Settings, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`purge` with no terminal to ask on and no --yes."""
    return subprocess.run(
        [sys.executable, "-m", "rasa_project", "purge", "--days", "0"],
        cwd=cfg.root,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_an_unreachable_database_is_a_clear_message(cfg: Settings, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rasa_project", "forget", "alice"],
        cwd=cfg.root,
        env={
            **os.environ,
            "LDN_BOT_VAR": str(tmp_path),
            "LDN_BOT_DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:9/none",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot use the database" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr
