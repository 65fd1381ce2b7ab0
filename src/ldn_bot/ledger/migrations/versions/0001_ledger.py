"""The guard decision ledger and feedback votes.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the turns and votes tables."""
    op.create_table(
        "ledger_turns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender_hash", sa.String(64), nullable=False),
        sa.Column("route", sa.String(32), nullable=False),
        sa.Column("guard_category", sa.String(32), nullable=False),
        sa.Column("guard_rule", sa.String(128)),
        sa.Column("intent", sa.String(64)),
        sa.Column("confidence", sa.Float),
        sa.Column("sentence_ids", sa.String(255), nullable=False),
        sa.Column("model_id", sa.String(64)),
        sa.Column("article_version", sa.String(16), nullable=False),
        sa.Column("user_text", sa.Text),
        sa.UniqueConstraint("message_id", name="uq_ledger_turns_message_id"),
    )
    op.create_index("ix_ledger_turns_created_at", "ledger_turns", ["created_at"])
    op.create_index("ix_ledger_turns_sender_hash", "ledger_turns", ["sender_hash"])
    op.create_table(
        "ledger_votes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "turn_id",
            sa.Integer,
            sa.ForeignKey("ledger_turns.id", ondelete="SET NULL", name="fk_ledger_votes_turn"),
        ),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender_hash", sa.String(64), nullable=False),
        sa.Column("bot_index", sa.Integer, nullable=False),
        sa.Column("vote", sa.String(8), nullable=False),
    )
    op.create_index("ix_ledger_votes_created_at", "ledger_votes", ["created_at"])
    op.create_index("ix_ledger_votes_turn_id", "ledger_votes", ["turn_id"])
    op.create_index("ix_ledger_votes_sender_hash", "ledger_votes", ["sender_hash"])


def downgrade() -> None:
    """Drop the votes and turns tables."""
    op.drop_table("ledger_votes")
    op.drop_table("ledger_turns")
