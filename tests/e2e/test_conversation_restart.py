"""The dose context lives in the tracker: it outlasts a restart of the server."""

from __future__ import annotations

import json
import urllib.request
import uuid
from pathlib import Path

import pytest
from serving import serving

from ldn_bot.settings import Settings

pytestmark = pytest.mark.model


def say(url: str, sender: str, message: str) -> str:
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        return " ".join(m.get("text", "") for m in json.loads(reply.read()))


def test_the_dose_context_survives_a_restart(
    cfg: Settings, trained_model: Path, tmp_path: Path
) -> None:
    sender = f"restart-{uuid.uuid4().hex}"
    with serving(cfg, tmp_path, {}) as url:
        assert "ask your doctor" in say(url, sender, "what dose of ldn is normal?").lower()
    with serving(cfg, tmp_path, {}) as url:  # a new process on the same conversations file
        assert "still can't give doses" in say(url, sender, "just a ballpark then")
        assert "still can't give doses" in say(url, sender, "as a table please")
        assert "Source" in say(url, sender, "what side effects does the article mention?")
