"""The ledger schema, brought up to date with Alembic on the same code for SQLite and
PostgreSQL. Several servers may start at once: on PostgreSQL an advisory lock lets one
of them migrate while the others wait."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "ldn_bot_alembic_version"
_MIGRATION_LOCK = 0x1D0B07  # any constant shared by every ldn-bot server


def alembic_config() -> Config:
    """Alembic's configuration for the ledger's migrations (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Create or upgrade the ledger tables to the latest revision (idempotent)."""
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
