"""source activity: counts per source, outcome and reason; the last raw payloads of each source

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.database

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "source_count",
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("last_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name=op.f("fk_source_count_source_id_source"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("source_id", "outcome", "reason", name=op.f("pk_source_count")),
    )
    op.create_table(
        "source_payload",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=40), nullable=False),
        sa.Column("received_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("submission_id", sa.String(length=40), nullable=True),
        sa.Column("lead_id", sa.String(length=40), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("record", json, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_source_payload_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_payload")),
    )
    with op.batch_alter_table("source_payload", schema=None) as batch_op:
        batch_op.create_index(
            "ix_source_payload_source_id_received_at_id", ["source_id", "received_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_source_payload_workspace_id_received_at", ["workspace_id", "received_at"], unique=False
        )
        batch_op.create_index("ix_source_payload_workspace_id_email_hash", ["workspace_id", "email_hash"], unique=False)
        batch_op.create_index("ix_source_payload_workspace_id_phone_hash", ["workspace_id", "phone_hash"], unique=False)
        batch_op.create_index("ix_source_payload_lead_id", ["lead_id"], unique=False)
        batch_op.create_index("ix_source_payload_submission_id", ["submission_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("source_payload", schema=None) as batch_op:
        batch_op.drop_index("ix_source_payload_submission_id")
        batch_op.drop_index("ix_source_payload_lead_id")
        batch_op.drop_index("ix_source_payload_workspace_id_phone_hash")
        batch_op.drop_index("ix_source_payload_workspace_id_email_hash")
        batch_op.drop_index("ix_source_payload_workspace_id_received_at")
        batch_op.drop_index("ix_source_payload_source_id_received_at_id")
    op.drop_table("source_payload")
    op.drop_table("source_count")
