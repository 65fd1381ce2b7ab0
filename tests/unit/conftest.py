"""The unit layer: no trained model, no server, no PostgreSQL or Redis; seconds in all
(`make test-fast`). A test here that asks for a heavier fixture fails, saying where it
belongs, instead of quietly slowing the layer down."""

from __future__ import annotations

from typing import NoReturn

import pytest


def _elsewhere(need: str, layer: str) -> NoReturn:
    pytest.fail(f"a unit test needs no {need}: put this test in tests/{layer}", pytrace=False)


@pytest.fixture(scope="session")
def trained_model() -> NoReturn:
    """Refused here: tests/integration has the trained model."""
    _elsewhere("trained model", "integration")


@pytest.fixture(scope="session")
def server() -> NoReturn:
    """Refused here: tests/e2e has `ldn-bot serve`."""
    _elsewhere("running server", "e2e")


@pytest.fixture(scope="session")
def slack_api() -> NoReturn:
    """Refused here: tests/e2e has the fake Slack Web API on loopback."""
    _elsewhere("fake Slack server", "e2e")


@pytest.fixture(scope="session")
def pg_redis() -> NoReturn:
    """Refused here: tests/e2e has PostgreSQL and Redis."""
    _elsewhere("PostgreSQL or Redis", "e2e")
