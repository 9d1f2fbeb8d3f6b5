"""consent notices

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:27:04.565920
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.database

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "consent_notice",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("form_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"], ["form.id"], name=op.f("fk_consent_notice_form_id_form"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_consent_notice_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_notice")),
        sa.UniqueConstraint(
            "form_id",
            "purpose",
            "channel",
            "text_sha256",
            name=op.f("uq_consent_notice_form_id_purpose_channel_text_sha256"),
        ),
        sa.UniqueConstraint("form_id", "purpose", "version", name=op.f("uq_consent_notice_form_id_purpose_version")),
    )
    with op.batch_alter_table("consent_notice", schema=None) as batch_op:
        batch_op.create_index("ix_consent_notice_workspace_id_form_id", ["workspace_id", "form_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("consent_notice", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_notice_workspace_id_form_id")

    op.drop_table("consent_notice")
