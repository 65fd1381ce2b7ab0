"""Alembic environment for the ledger tables only (Rasa owns `events`)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from ldn_bot.ledger.models import Base
from ldn_bot.ledger.schema import VERSION_TABLE


def _ours(name: str | None, type_: str, _parent: Any) -> bool:
    return type_ != "table" or name in Base.metadata.tables


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        include_name=_ours,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # `alembic -x url=...` from a shell
    url = context.get_x_argument(as_dictionary=True)["url"]
    with create_engine(url, future=True).begin() as own_connection:
        _run(own_connection)
