"""console sessions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 10:05:41.218337
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.database

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "console_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("api_key_id", sa.String(length=40), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("created_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "reveal", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_key.id"], name=op.f("fk_console_session_api_key_id_api_key"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_console_session_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_session")),
    )
    with op.batch_alter_table("console_session", schema=None) as batch_op:
        batch_op.create_index("ix_console_session_api_key_id", ["api_key_id"], unique=False)
        batch_op.create_index("ix_console_session_workspace_id", ["workspace_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("console_session", schema=None) as batch_op:
        batch_op.drop_index("ix_console_session_workspace_id")
        batch_op.drop_index("ix_console_session_api_key_id")

    op.drop_table("console_session")
