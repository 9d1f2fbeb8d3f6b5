"""source pull: where the pulling of each pull source stands (cursor, lease, schedule, block, last error, counts)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.database

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = core.database.UTCDateTime(timezone=True)
    op.create_table(
        "source_pull",
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("cursor", when, nullable=True),
        sa.Column("next_pull_at", when, nullable=False),
        sa.Column("blocked_until", when, nullable=True),
        sa.Column("lease_owner", sa.String(length=40), nullable=True),
        sa.Column("lease_expires_at", when, nullable=True),
        sa.Column("last_pull_at", when, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_error_at", when, nullable=True),
        sa.Column("pulls", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("updated_at", when, nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name=op.f("fk_source_pull_source_id_source"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_source_pull_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_source_pull")),
    )
    with op.batch_alter_table("source_pull", schema=None) as batch_op:
        batch_op.create_index("ix_source_pull_next_pull_at", ["next_pull_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("source_pull", schema=None) as batch_op:
        batch_op.drop_index("ix_source_pull_next_pull_at")
    op.drop_table("source_pull")
