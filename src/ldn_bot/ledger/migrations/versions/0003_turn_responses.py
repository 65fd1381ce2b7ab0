"""The responses each turn sent (comma-separated names): the report tells a failure
("I can't answer that right now") from a fallback by them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the responses column."""
    with op.batch_alter_table("ledger_turns") as batch:
        batch.add_column(sa.Column("responses", sa.String(255)))


def downgrade() -> None:
    """Drop the responses column."""
    with op.batch_alter_table("ledger_turns") as batch:
        batch.drop_column("responses")
