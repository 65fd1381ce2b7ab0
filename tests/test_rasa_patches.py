"""The Rasa fixes in `rasa_project/patches.py` and `action_endpoint.py` keep Rasa's behaviour."""

from __future__ import annotations

import asyncio

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from ldn_bot.settings import Settings
from rasa_project import patches
from rasa_project.action_endpoint import PooledEndpointConfig

VALID = {"events": [{"event": "slot", "name": "last_topic", "value": "ms"}], "responses": []}


@pytest.fixture(scope="module")
def domain(cfg: Settings) -> Domain:
    return Domain.load(str(cfg.domain_path))


INVALID = {"events": [{"event": "slot", "name": 3}], "responses": "not a list"}


def test_the_cached_validator_accepts_what_rasa_accepts(domain: Domain) -> None:
    patches.apply()
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1"))
    token = patches._contract.set(patches.reply_contract(domain))
    try:
        assert action._validate_action_result(VALID) is True
    finally:
        patches._contract.reset(token)


def test_a_reply_checked_outside_the_guarded_run_is_refused() -> None:
    patches.apply()
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1"))
    with pytest.raises(patches.RefusedReply, match="no reply contract"):
        action._validate_action_result(VALID)


def test_the_cached_validator_rejects_like_rasa_with_rasas_message() -> None:
    patches.apply()
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1"))
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(INVALID)


def test_pooled_endpoint_reuses_one_session_per_event_loop() -> None:
    endpoint = PooledEndpointConfig(url="http://127.0.0.1:1/webhook")

    async def sessions() -> tuple[object, object]:
        async with endpoint.session() as first, endpoint.session() as second:
            return first, second

    first, second = asyncio.run(sessions())
    assert first is second
    assert isinstance(endpoint.copy(), PooledEndpointConfig)
