"""consent lifecycle: workspace settings, lead status, double opt-in, erasure

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 01:41:04.552582
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.database

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_ip", sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column("user_agent", sa.String(length=500), nullable=True))
        batch_op.create_index("ix_consent_event_submission_id", ["submission_id"], unique=False)

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), server_default="active", nullable=False))

    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmation", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", core.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "pending_event",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("erased_at", core.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("person", sa.String(length=254), nullable=True))
        batch_op.create_index("ix_submission_workspace_id_person", ["workspace_id", "person"], unique=False)

    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "settings",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default="{}",
                nullable=False,
            )
        )


def downgrade() -> None:

    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("settings")

    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_workspace_id_person")
        batch_op.drop_column("person")
        batch_op.drop_column("erased_at")
        batch_op.drop_column("pending_event")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("confirmation")

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_column("status")

    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_event_submission_id")
        batch_op.drop_column("user_agent")
        batch_op.drop_column("client_ip")
