"""Project settings: one frozen object, built once and passed in."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTICLE_PATH = PROJECT_ROOT / "data" / "article" / "article.txt"
DOMAIN_PATH = PROJECT_ROOT / "domain.yml"


@dataclass(frozen=True)
class Settings:
    """Paths and endpoints every entry point shares.

    Attributes:
        root: the project folder (holds `domain.yml`, `config.yml`, `data/`).
        var_dir: git-ignored folder for the SQLite store, logs and run state.
        models_dir: where trained models are written (git-ignored).
        debug: show what is normally kept back (Rasa's training output, library
            warnings): `LDN_BOT_DEBUG`.
        database_url: SQLAlchemy URL of the conversation store and ledger (PostgreSQL in
            production); None means the SQLite file `var/conversations.sqlite`.
        redis_url: Redis for the lock store (and Slack de-duplication) when several
            servers share one database; None means in-process locks.
        retention_days: `ldn-bot purge` deletes conversations and ledger rows older.
        ledger_text: keep the raw user text in the ledger too (off: it stays only in the
            conversation store, which `forget` and `purge` also clear).
    """

    root: Path
    var_dir: Path
    models_dir: Path
    debug: bool = False
    database_url: str | None = None
    redis_url: str | None = None
    retention_days: int = 90
    ledger_text: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the environment (`LDN_BOT_VAR`, `LDN_BOT_DATABASE_URL`,
        `LDN_BOT_REDIS_URL`, `LDN_BOT_RETENTION_DAYS`, `LDN_BOT_LEDGER_TEXT`,
        `LDN_BOT_DEBUG`); an entry point builds them once and passes them down."""
        env = os.environ if environ is None else environ
        root = PROJECT_ROOT
        return cls(
            root=root,
            var_dir=Path(env.get("LDN_BOT_VAR", root / "var")).resolve(),
            models_dir=root / "models",
            database_url=env.get("LDN_BOT_DATABASE_URL") or None,
            redis_url=env.get("LDN_BOT_REDIS_URL") or None,
            retention_days=int(env.get("LDN_BOT_RETENTION_DAYS", "90")),
            ledger_text=_flag(env.get("LDN_BOT_LEDGER_TEXT")),
            debug=_flag(env.get("LDN_BOT_DEBUG")),
        )

    @property
    def article_path(self) -> Path:
        """The project's copy of the article (with its attribution)."""
        return ARTICLE_PATH

    @property
    def domain_path(self) -> Path:
        """The Rasa domain."""
        return self.root / "domain.yml"

    @property
    def config_path(self) -> Path:
        """The Rasa pipeline and policies."""
        return self.root / "config.yml"

    @property
    def endpoints_path(self) -> Path:
        """Rasa's runtime endpoints (action server, tracker store, NLG)."""
        return self.root / "rasa_project" / "endpoints.yml"

    @property
    def credentials_path(self) -> Path:
        """Rasa's channels."""
        return self.root / "rasa_project" / "credentials.yml"

    @property
    def training_files(self) -> tuple[Path, ...]:
        """Rasa's training data (every `data/*.yml`)."""
        return tuple(sorted((self.root / "data").glob("*.yml")))

    @property
    def tracker_db(self) -> Path:
        """The SQLite file of conversations and the ledger (without a database URL)."""
        return self.var_dir / "conversations.sqlite"

    @property
    def quarantine_dir(self) -> Path:
        """Where the stores keep what their database would not take (private files)."""
        return self.var_dir / "quarantine"

    @property
    def conversations_url(self) -> str:
        """Where conversations and the ledger live (one database for both)."""
        return self.database_url or f"sqlite:///{self.tracker_db}"

    def salt(self) -> str:
        """The salt of sender hashes: `LDN_BOT_SALT`, else a random one kept in `var/salt`.

        Several servers sharing a database must share `LDN_BOT_SALT`.
        """
        if from_env := os.environ.get("LDN_BOT_SALT"):
            return from_env
        path = self.var_dir / "salt"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return path.read_text().strip()


def _flag(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes"}


@lru_cache(maxsize=1)
def settings() -> Settings:
    """`Settings.from_env()`, built once per process: for entry points Rasa starts itself
    (`rasa run`, `rasa shell`, the action server), which cannot be handed one."""
    return Settings.from_env()
