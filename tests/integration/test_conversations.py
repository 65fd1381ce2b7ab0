"""Rasa-level checks on the trained model: data validation and conversation tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ldn_bot.settings import Settings

pytestmark = pytest.mark.model


def _rasa(cfg: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=cfg.root,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_rasa_data_validate(cfg: Settings) -> None:
    files = [str(p) for p in cfg.training_files]
    result = _rasa(
        cfg,
        "data",
        "validate",
        "--domain",
        "domain.yml",
        "--config",
        "config.yml",
        "--fail-on-warnings",
        "--data",
        *files,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_conversation_stories_pass(cfg: Settings, trained_model: Path, tmp_path: Path) -> None:
    result = _rasa(
        cfg,
        "test",
        "core",
        "--model",
        str(trained_model),
        "--stories",
        "tests/test_stories.yml",
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path),
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, details + result.stdout[-3000:] + result.stderr[-3000:]
