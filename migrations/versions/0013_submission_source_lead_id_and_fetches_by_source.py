"""submission source_lead_id: the sender's own id of a lead from an inbound source; a source's fetches by id

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_lead_id", sa.String(length=100), nullable=True))
    with op.batch_alter_table("source_fetch", schema=None) as batch_op:
        batch_op.create_index("ix_source_fetch_source_id_id", ["source_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("source_fetch", schema=None) as batch_op:
        batch_op.drop_index("ix_source_fetch_source_id_id")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("source_lead_id")
