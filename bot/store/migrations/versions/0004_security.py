"""security: ids never reused on SQLite, console coordinator flag, lockout per login and source

- SQLite reuses the largest rowid after a delete unless the table is declared
  AUTOINCREMENT; ids of handoff requests, cards, messages, consents, audit rows,
  outbox rows and message refs appear in references (``ho:<id>``, reply-to
  mappings), so an erased request's id must never come back for another person.
  SQLite cannot change that in place: the tables are rebuilt (batch mode).
  PostgreSQL sequences never go back; nothing to do there.
- ``console_accounts.coordinator``: may see every team's statistics.
- ``console_login_failures.login_ref``: failures are counted per login and
  source; this hash of the login finds them all when the password is reset.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: Tables whose ids appear in references; parents before children.
AUTOINCREMENT_TABLES = (
    "handoff_requests",
    "handoff_cards",
    "handoff_messages",
    "handoff_consents",
    "handoff_audit",
    "outbox",
    "message_refs",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Database.upgrade turns foreign keys off for the migration, so that
        # dropping the old handoff_requests does not cascade to its children.
        for table in AUTOINCREMENT_TABLES:
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ):
                pass
    with op.batch_alter_table("console_accounts") as batch_op:
        batch_op.add_column(
            sa.Column("coordinator", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("console_login_failures") as batch_op:
        batch_op.add_column(sa.Column("login_ref", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_console_login_failures_login_ref", ["login_ref"])


def downgrade() -> None:
    with op.batch_alter_table("console_login_failures") as batch_op:
        batch_op.drop_index("ix_console_login_failures_login_ref")
        batch_op.drop_column("login_ref")
    with op.batch_alter_table("console_accounts") as batch_op:
        batch_op.drop_column("coordinator")
