"""idempotency key scopes: a client's keys and each source's event ids never share a key space

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=40), server_default="client", nullable=False))
    # Keys stored for a source's leads move into that source's key space.
    op.execute(
        "UPDATE idempotency_key SET scope = (SELECT submission.source_id FROM submission"
        " WHERE submission.id = idempotency_key.submission_id)"
        " WHERE EXISTS (SELECT 1 FROM submission WHERE submission.id = idempotency_key.submission_id"
        " AND submission.source_id IS NOT NULL)"
    )
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_constraint("uq_idempotency_key_form_id_key", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_idempotency_key_form_id_scope_key"), ["form_id", "scope", "key"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_key WHERE scope <> 'client'")
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_constraint("uq_idempotency_key_form_id_scope_key", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_idempotency_key_form_id_key"), ["form_id", "key"])
        batch_op.drop_column("scope")
