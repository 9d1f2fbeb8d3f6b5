"""inbound sources

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 02:14:12.566606
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.database

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "source",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("form_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "mapping", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "consent_purposes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "secrets", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("deliver_test_leads", sa.Boolean(), nullable=False),
        sa.Column("created_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["form_id"], ["form.id"], name=op.f("fk_source_form_id_form"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_source_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source")),
    )
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.create_index("ix_source_workspace_id_id", ["workspace_id", "id"], unique=False)

    op.create_table(
        "source_fetch",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("submission_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name=op.f("fk_source_fetch_source_id_source"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_source_fetch_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_fetch")),
        sa.UniqueConstraint("source_id", "external_id", name=op.f("uq_source_fetch_source_id_external_id")),
    )
    with op.batch_alter_table("source_fetch", schema=None) as batch_op:
        batch_op.create_index("ix_source_fetch_due", ["status", "next_attempt_at"], unique=False)

    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_id", sa.String(length=40), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("source_id")

    with op.batch_alter_table("source_fetch", schema=None) as batch_op:
        batch_op.drop_index("ix_source_fetch_due")

    op.drop_table("source_fetch")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_index("ix_source_workspace_id_id")

    op.drop_table("source")
