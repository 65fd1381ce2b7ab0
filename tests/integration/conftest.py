"""The integration layer: the assembled assistant, in-process or in subprocesses: the
trained model (`ldn-bot ask`, `ldn-bot chat`, `rasa test`), the report command, every
module imported together, the analysis over the whole corpus; no `ldn-bot serve`,
browser, PostgreSQL or Redis. A test here that asks for one of those fails, saying it
belongs in tests/e2e."""

from __future__ import annotations

from typing import NoReturn

import pytest


def _elsewhere(need: str) -> NoReturn:
    pytest.fail(f"an integration test needs no {need}: put this test in tests/e2e", pytrace=False)


@pytest.fixture(scope="session")
def server() -> NoReturn:
    """Refused here: tests/e2e has `ldn-bot serve`."""
    _elsewhere("running server")


@pytest.fixture(scope="session")
def slack_api() -> NoReturn:
    """Refused here: tests/e2e has the fake Slack Web API on loopback."""
    _elsewhere("fake Slack server")


@pytest.fixture(scope="session")
def pg_redis() -> NoReturn:
    """Refused here: tests/e2e has PostgreSQL and Redis."""
    _elsewhere("PostgreSQL or Redis")
