"""leads, submissions, consent events, idempotency keys

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 00:48:17.343519
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.database

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "lead",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column(
            "fields", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("submission_count", sa.Integer(), nullable=False),
        sa.Column("created_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_lead_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead")),
        sa.UniqueConstraint("workspace_id", "email", name=op.f("uq_lead_workspace_id_email")),
    )
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.create_index("ix_lead_workspace_id_id", ["workspace_id", "id"], unique=False)
        batch_op.create_index("ix_lead_workspace_id_phone", ["workspace_id", "phone"], unique=False)
        batch_op.create_index(
            "uq_lead_workspace_id_phone_without_email",
            ["workspace_id", "phone"],
            unique=True,
            sqlite_where=sa.text("email IS NULL"),
            postgresql_where=sa.text("email IS NULL"),
        )

    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("form_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=2000), nullable=True),
        sa.Column("submission_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"], ["form.id"], name=op.f("fk_idempotency_key_form_id_form"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
        sa.UniqueConstraint("form_id", "key", name=op.f("uq_idempotency_key_form_id_key")),
    )
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_key_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "submission",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("form_id", sa.String(length=40), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.String(length=40), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("spam_reason", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column(
            "fields", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "consents", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("page_url", sa.String(length=2000), nullable=True),
        sa.Column("referrer", sa.String(length=2000), nullable=True),
        sa.Column("utm", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("client_ip", sa.String(length=45), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=True),
        sa.Column("message_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["form_id"], ["form.id"], name=op.f("fk_submission_form_id_form"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"], name=op.f("fk_submission_lead_id_lead"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_submission_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission")),
    )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index("ix_submission_form_id_fingerprint", ["form_id", "fingerprint"], unique=False)
        batch_op.create_index(
            "ix_submission_lead_id_form_id_fingerprint", ["lead_id", "form_id", "fingerprint"], unique=False
        )
        batch_op.create_index("ix_submission_workspace_id_id", ["workspace_id", "id"], unique=False)
        batch_op.create_index("ix_submission_workspace_id_verdict_id", ["workspace_id", "verdict", "id"], unique=False)

    op.create_table(
        "consent_event",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("lead_id", sa.String(length=40), nullable=False),
        sa.Column("submission_id", sa.String(length=40), nullable=True),
        sa.Column("notice_id", sa.String(length=40), nullable=False),
        sa.Column("form_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("indication", sa.String(length=16), nullable=False),
        sa.Column("page_url", sa.String(length=2000), nullable=True),
        sa.Column("recorded_at", core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_id"], ["form.id"], name=op.f("fk_consent_event_form_id_form"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_consent_event_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["consent_notice.id"],
            name=op.f("fk_consent_event_notice_id_consent_notice"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_consent_event_submission_id_submission"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_consent_event_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_event")),
    )
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.create_index("ix_consent_event_lead_id_id", ["lead_id", "id"], unique=False)
        batch_op.create_index("ix_consent_event_workspace_id_id", ["workspace_id", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_event_workspace_id_id")
        batch_op.drop_index("ix_consent_event_lead_id_id")

    op.drop_table("consent_event")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_workspace_id_verdict_id")
        batch_op.drop_index("ix_submission_workspace_id_id")
        batch_op.drop_index("ix_submission_lead_id_form_id_fingerprint")
        batch_op.drop_index("ix_submission_form_id_fingerprint")

    op.drop_table("submission")
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_key_expires_at")

    op.drop_table("idempotency_key")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_lead_workspace_id_phone_without_email",
            sqlite_where=sa.text("email IS NULL"),
            postgresql_where=sa.text("email IS NULL"),
        )
        batch_op.drop_index("ix_lead_workspace_id_phone")
        batch_op.drop_index("ix_lead_workspace_id_id")

    op.drop_table("lead")
