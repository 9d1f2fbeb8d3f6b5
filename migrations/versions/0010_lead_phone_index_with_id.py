"""lead phone index with id: a search by phone finds its page of leads, newest first, through one index

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Created before the old one goes, so that phone lookups always have an index.
    op.create_index("ix_lead_workspace_id_phone_id", "lead", ["workspace_id", "phone", "id"])
    op.drop_index("ix_lead_workspace_id_phone", table_name="lead")


def downgrade() -> None:
    op.create_index("ix_lead_workspace_id_phone", "lead", ["workspace_id", "phone"])
    op.drop_index("ix_lead_workspace_id_phone_id", table_name="lead")
