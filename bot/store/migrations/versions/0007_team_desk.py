"""team desk: the questions before a handoff (summary, safe to talk) and duty

Revision ID: 0007
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_requests") as batch:
        batch.add_column(sa.Column("intake_step", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("safe_now", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("summary_enc", sa.Text(), nullable=True))
    op.create_table(
        "handoff_duty",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("member_alias", sa.String(length=32), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "member_alias", name=op.f("pk_handoff_duty")),
    )


def downgrade() -> None:
    op.drop_table("handoff_duty")
    with op.batch_alter_table("handoff_requests") as batch:
        batch.drop_column("summary_enc")
        batch.drop_column("safe_now")
        batch.drop_column("intake_step")
