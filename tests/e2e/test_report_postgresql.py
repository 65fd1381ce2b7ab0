"""The ledger report from PostgreSQL (started by scripts/services.sh) is the report from
SQLite: the same figures, whole and from a date. The figures themselves are checked on
SQLite in tests/unit/test_report_collect.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from report_ledger import D2, UTC, populate
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from ldn_bot.ledger.report import ReportData, collect


def _comparable(data: ReportData) -> ReportData:
    """The report without what differs between two runs: when it was made and cast votes."""
    moment = datetime(2000, 1, 1, tzinfo=UTC)
    down_votes = tuple(replace(vote, voted_at=moment) for vote in data.down_votes)
    return replace(data, generated_at=moment, down_votes=down_votes)


@pytest.mark.services
def test_postgresql_gives_the_same_report(report_engine: Engine, pg_redis: dict[str, str]) -> None:
    url = pg_redis["LDN_BOT_DATABASE_URL"]
    schema = "ldn_report_test"  # its own schema: the other tests' tables stay untouched
    with create_engine(url, future=True).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    postgres = create_engine(url, future=True, connect_args={"options": f"-c search_path={schema}"})
    try:
        populate(postgres)
        for since in (None, D2):
            on_postgres = collect(postgres, since=since)
            assert on_postgres.turns and on_postgres.events_table
            assert _comparable(on_postgres) == _comparable(collect(report_engine, since=since))
    finally:
        postgres.dispose()
