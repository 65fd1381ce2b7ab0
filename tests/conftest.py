"""Shared fixtures. The trained model is built once per session (reused when
data and config are unchanged), exactly as `make chat` builds it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from ldn_bot.guard.detector import GuardDetector, default_detector
from ldn_bot.knowledge.base import KnowledgeBase, knowledge_base
from ldn_bot.settings import Settings, settings


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
    from ldn_bot.runtime import ensure_model

    return ensure_model(cfg)
