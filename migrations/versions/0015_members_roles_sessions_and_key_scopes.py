"""members, their roles in workspaces, member console sessions, key scopes and creators, audit addresses

Existing keys stay valid with every scope, as service keys without a creator (they act as an owner). Console sessions
were opened with API keys, which no longer open the console: they are dropped, and the table is made anew for
members' sessions.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.database

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = core.database.UTCDateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "member",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("mfa", _json(), nullable=True),
        sa.Column("disabled_at", _UTC, nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("password_changed_at", _UTC, nullable=False),
        sa.Column("last_sign_in_at", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint("email", name=op.f("uq_member_email")),
    )
    op.create_table(
        "membership",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("member_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_membership_member_id_member"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_membership_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("workspace_id", "member_id", name=op.f("pk_membership")),
    )
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.create_index("ix_membership_member_id", ["member_id"], unique=False)

    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=False, server_default="service"))
        batch_op.add_column(sa.Column("created_by_id", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("scopes", _json(), nullable=False, server_default='["read", "write", "submit", "admin"]')
        )
        batch_op.add_column(sa.Column("forms_only", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("last_used_at", _UTC, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_api_key_created_by_id_member"), "member", ["created_by_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_api_key_created_by_id", ["created_by_id"], unique=False)

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=64), nullable=True))

    with op.batch_alter_table("console_session", schema=None) as batch_op:
        batch_op.drop_index("ix_console_session_workspace_id")
        batch_op.drop_index("ix_console_session_api_key_id")
    op.drop_table("console_session")
    _create_console_session("member_id", "member", extra=True)


def _create_console_session(owner_column: str, owner_table: str, *, extra: bool) -> None:
    columns = [
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column(owner_column, sa.String(length=40), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
    ]
    if extra:
        columns += [
            sa.Column("address", sa.String(length=64), nullable=True),
            sa.Column("mfa_verified_at", _UTC, nullable=True),
        ]
    op.create_table(
        "console_session",
        *columns,
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("last_seen_at", _UTC, nullable=False),
        sa.Column("expires_at", _UTC, nullable=False),
        sa.Column("revoked_at", _UTC, nullable=True),
        sa.Column("reveal", _json(), nullable=True),
        sa.ForeignKeyConstraint(
            [owner_column],
            [f"{owner_table}.id"],
            name=op.f(f"fk_console_session_{owner_column}_{owner_table}"),
            ondelete="CASCADE",
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
        batch_op.create_index(f"ix_console_session_{owner_column}", [owner_column], unique=False)
        batch_op.create_index("ix_console_session_workspace_id", ["workspace_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("console_session", schema=None) as batch_op:
        batch_op.drop_index("ix_console_session_workspace_id")
        batch_op.drop_index("ix_console_session_member_id")
    op.drop_table("console_session")
    _create_console_session("api_key_id", "api_key", extra=False)

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("address")

    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index("ix_api_key_created_by_id")
        batch_op.drop_constraint(batch_op.f("fk_api_key_created_by_id_member"), type_="foreignkey")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("forms_only")
        batch_op.drop_column("scopes")
        batch_op.drop_column("created_by_id")
        batch_op.drop_column("kind")

    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_index("ix_membership_member_id")
    op.drop_table("membership")
    op.drop_table("member")
