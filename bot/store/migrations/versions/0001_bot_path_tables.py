"""bot path tables

Revision ID: 0001
Revises:
Create Date: 2026-11-22 08:34:30.746400
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_counts",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "metric", "label", name=op.f("pk_daily_counts")),
    )
    op.create_table(
        "kv",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value_enc", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_kv")),
    )
    op.create_table(
        "message_refs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_key", sa.String(length=64), nullable=False),
        sa.Column("platform_message_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_refs")),
    )
    with op.batch_alter_table("message_refs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_refs_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_message_refs_user_key"), ["user_key"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("address_enc", sa.Text(), nullable=False),
        sa.Column("payload_enc", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("platform_ids", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_outbox_recipient", ["recipient", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_ref"), ["ref"], unique=False)

    op.create_table(
        "users",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address_enc", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("discreet", sa.Boolean(), nullable=True),
        sa.Column("recent_refs", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_users")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_last_seen_at"), ["last_seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_last_seen_at"))

    op.drop_table("users")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_ref"))
        batch_op.drop_index("ix_outbox_recipient")
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    with op.batch_alter_table("message_refs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_refs_user_key"))
        batch_op.drop_index(batch_op.f("ix_message_refs_created_at"))

    op.drop_table("message_refs")
    op.drop_table("kv")
    op.drop_table("daily_counts")
