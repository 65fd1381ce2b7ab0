"""The guard decision ledger: one append-only row per bot turn, feedback votes tied to
it, privacy controls over it and the conversation store, and the report.

Plain SQLAlchemy (2.0-style use of Rasa's pinned 1.4); the schema is managed by Alembic.
"""
