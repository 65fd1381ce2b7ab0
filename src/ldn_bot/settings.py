"""Project settings: one frozen object, built once and passed in."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    """Paths and endpoints every entry point shares.

    Attributes:
        root: the project folder (holds `domain.yml`, `config.yml`, `data/`).
        var_dir: git-ignored folder for the SQLite store, logs and run state.
        models_dir: where trained models are written (git-ignored).
        action_port: port of the rasa-sdk action server started by the CLI.
    """

    root: Path
    var_dir: Path
    models_dir: Path
    action_port: int = 5055

    @property
    def article_path(self) -> Path:
        return self.root / "data" / "article" / "article.txt"

    @property
    def domain_path(self) -> Path:
        return self.root / "domain.yml"

    @property
    def config_path(self) -> Path:
        return self.root / "config.yml"

    @property
    def endpoints_path(self) -> Path:
        return self.root / "rasa_project" / "endpoints.yml"

    @property
    def credentials_path(self) -> Path:
        return self.root / "rasa_project" / "credentials.yml"

    @property
    def training_files(self) -> tuple[Path, ...]:
        return tuple(sorted((self.root / "data").glob("*.yml")))

    @property
    def tracker_db(self) -> Path:
        return self.var_dir / "conversations.sqlite"


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Settings from the environment (`LDN_BOT_VAR`, `LDN_BOT_ACTION_PORT`), read once."""
    root = PROJECT_ROOT
    var_dir = Path(os.environ.get("LDN_BOT_VAR", root / "var")).resolve()
    return Settings(
        root=root,
        var_dir=var_dir,
        models_dir=root / "models",
        action_port=int(os.environ.get("LDN_BOT_ACTION_PORT", "5055")),
    )
