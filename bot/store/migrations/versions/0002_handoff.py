"""handoff tables: consents, requests, cards, sealed transcripts, audit log, seen team updates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_key", sa.String(length=64), nullable=False),
        sa.Column("text_version", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_consents")),
    )
    with op.batch_alter_table("handoff_consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoff_consents_user_key"), ["user_key"], unique=False
        )

    op.create_table(
        "handoff_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alias", sa.String(length=8), nullable=False),
        sa.Column("user_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("original_team_id", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("details_enc", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(length=16), nullable=True),
        sa.Column("member_channel", sa.String(length=16), nullable=True),
        sa.Column("member_key", sa.String(length=64), nullable=True),
        sa.Column("member_address_enc", sa.Text(), nullable=True),
        sa.Column("member_alias", sa.String(length=32), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unreachable_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("from_user_count", sa.Integer(), nullable=False),
        sa.Column("from_member_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_requests")),
    )
    with op.batch_alter_table("handoff_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoff_requests_closed_at"), ["closed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handoff_requests_member_key"), ["member_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handoff_requests_queued_at"), ["queued_at"], unique=False
        )
        batch_op.create_index("ix_handoff_requests_status", ["status", "queued_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_handoff_requests_user_key"), ["user_key"], unique=False
        )
        batch_op.create_index(
            "uq_handoff_requests_open_alias",
            ["alias"],
            unique=True,
            sqlite_where=sa.text("status != 'closed'"),
            postgresql_where=sa.text("status != 'closed'"),
        )

    op.create_table(
        "handoff_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("request_alias", sa.String(length=8), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("member_alias", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_audit")),
    )
    with op.batch_alter_table("handoff_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handoff_audit_at"), ["at"], unique=False)

    op.create_table(
        "handoff_cards",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address_enc", sa.Text(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["handoff_requests.id"],
            name=op.f("fk_handoff_cards_request_id_handoff_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_cards")),
    )
    with op.batch_alter_table("handoff_cards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoff_cards_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("body_enc", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["handoff_requests.id"],
            name=op.f("fk_handoff_messages_request_id_handoff_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_messages")),
    )
    with op.batch_alter_table("handoff_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoff_messages_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "handoff_seen",
        sa.Column("chat_key", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_key", "ref", name=op.f("pk_handoff_seen")),
    )
    with op.batch_alter_table("handoff_seen", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoff_seen_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("handoff_seen")
    op.drop_table("handoff_messages")
    op.drop_table("handoff_cards")
    op.drop_table("handoff_audit")
    op.drop_table("handoff_requests")
    op.drop_table("handoff_consents")
