"""What decided each turn's guard verdict: the message, the window, the dose context.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the guard_source and guard_context columns."""
    with op.batch_alter_table("ledger_turns") as batch:
        batch.add_column(sa.Column("guard_source", sa.String(16)))
        batch.add_column(sa.Column("guard_context", sa.String(32)))


def downgrade() -> None:
    """Drop the guard_source and guard_context columns."""
    with op.batch_alter_table("ledger_turns") as batch:
        batch.drop_column("guard_context")
        batch.drop_column("guard_source")
