"""Shared fixtures. The trained model is built once per session (reused when
data and config are unchanged), exactly as `make chat` builds it."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

import access_server
import lifecycle_probes
from access_server import Served
from browser_page import ARGS, CHROMIUM
from fake_slack import FakeSlackAPI
from report_ledger import populate as populate_report_ledger
from review_ledger import seed as seed_review_ledger
from services import running_services
from serving import serving, slack_env
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from ldn_bot.guard.detector import GuardDetector, default_detector
from ldn_bot.knowledge.base import KnowledgeBase, knowledge_base
from ldn_bot.ledger.engine import engine_for
from ldn_bot.ledger.schema import VERSION_TABLE
from ldn_bot.settings import Settings, settings

if TYPE_CHECKING:
    from rasa_project.tracker_store import LedgerTrackerStore


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Captured output with a lone surrogate (the tests that feed one to the stores log it
    raw through pytest's handler) written as an escape: pytest-xdist's channel to the
    workers carries UTF-8 only, and the whole run stopped with an INTERNALERROR."""
    outcome = yield
    report = outcome.get_result()
    report.sections = [(title, _encodable(content)) for title, content in report.sections]


def _encodable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@pytest.fixture(scope="session")
def cfg() -> Settings:
    return settings()


@pytest.fixture(scope="session")
def kb(cfg: Settings) -> KnowledgeBase:
    return knowledge_base(cfg.article_path)


@pytest.fixture(scope="session")
def detector() -> GuardDetector:
    return default_detector()


@pytest.fixture(scope="session")
def trained_model(cfg: Settings) -> Path:
    from rasa_project.training import ensure_model

    return ensure_model(cfg)


@pytest.fixture(scope="session")
def pg_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Real PostgreSQL and Redis on loopback (scripts/services.sh), for the whole session."""
    with running_services(tmp_path_factory.mktemp("services")) as env:
        yield env


@pytest.fixture(scope="session")
def slack_api() -> Iterator[FakeSlackAPI]:
    """The fake Slack Web API the `server` fixture's Slack channel posts to."""
    fake = FakeSlackAPI().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def serve_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `var/` folder of the `server` fixture (its SQLite conversations and ledger)."""
    return tmp_path_factory.mktemp("serve-var")


@pytest.fixture(scope="session")
def server(
    cfg: Settings, trained_model: Path, slack_api: FakeSlackAPI, serve_var: Path
) -> Iterator[str]:
    """`ldn-bot serve` as a user runs it, with Slack switched on against the fake API."""
    with serving(cfg, serve_var, slack_env(slack_api)) as url:
        yield url


@pytest.fixture
def review_engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite ledger seeded with the report review's two conversations (review_ledger.py)."""
    engine = seed_review_ledger(tmp_path / "conversations.db")
    yield engine
    engine.dispose()


@pytest.fixture
def report_engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file with the report's three days of events, turns and votes (report_ledger.py)."""
    engine = engine_for(f"sqlite:///{tmp_path / 'conversations.db'}")
    populate_report_ledger(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLite file, then the `pg_redis` PostgreSQL server without the ledger's tables."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'conversations.sqlite'}"
        return
    url = request.getfixturevalue("pg_redis")["LDN_BOT_DATABASE_URL"]
    with create_engine(url, future=True).begin() as connection:
        for table in ("ledger_votes", "ledger_turns", VERSION_TABLE, "events"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    yield url


@pytest.fixture
def ledger_store(
    ledger_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> LedgerTrackerStore:
    """The tracker store that writes the ledger, on each of `ledger_database_url`'s databases
    (Rasa is imported here, not when the conftest loads)."""
    from rasa.shared.core.domain import Domain

    from rasa_project.tracker_store import LedgerTrackerStore

    monkeypatch.setenv("LDN_BOT_SALT", "test-salt")
    return LedgerTrackerStore(
        Domain.empty(), host=ledger_database_url, quarantine_dir=str(tmp_path / "quarantine")
    )


@pytest.fixture
def var_cfg(cfg: Settings, tmp_path: Path) -> Settings:
    """The settings with a `var/` folder of the test's own."""
    return dataclasses.replace(cfg, var_dir=tmp_path)


@pytest.fixture(scope="module")
def lifecycle_figures(cfg: Settings) -> Iterator[None]:
    """Writes reports/lifecycle.json after each tests/e2e/test_lifecycle_*.py module (the
    figures of every module run so far: SECURITY.md quotes them)."""
    yield
    lifecycle_probes.write_figures(cfg.root)


@pytest.fixture(scope="session")
def access(
    cfg: Settings, trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """`ldn-bot serve` with a REST token, the read-only API with a JWT secret and one more
    host name, for every tests/e2e/test_access_*.py module."""
    var = tmp_path_factory.mktemp("access")
    with serving(cfg, var, access_server.SERVE_ENV, args=access_server.SERVE_ARGS) as url:
        yield Served(url, var)


@pytest.fixture(scope="module")
def access_figures(cfg: Settings) -> Iterator[None]:
    """Writes reports/access.json after each tests/e2e/test_access_*.py module that uses the
    server (the figures of every module run so far: SECURITY.md quotes them)."""
    yield
    access_server.write_figures(cfg.root)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium, driven by Playwright, for a tests/e2e/test_browser_*.py
    module."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make browser` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()
