"""one delivery per message and endpoint; failure streaks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:17:05.826012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.database

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_delivery_message_id_endpoint_id"), ["message_id", "endpoint_id"]
        )

    with op.batch_alter_table("webhook_endpoint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_failure_at", core.database.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("webhook_endpoint", schema=None) as batch_op:
        batch_op.drop_column("last_failure_at")

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_delivery_message_id_endpoint_id"), type_="unique")
