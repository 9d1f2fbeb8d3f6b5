"""Workspaces, API keys and the audit log, as plain async functions over an explicit session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from core.database import utcnow
from core.errors import Conflict, FieldError, NotFound, ValidationFailed
from core.ids import new_id
from core.pagination import fetch_page
from core.security import API_KEY_PREFIX, hash_api_key, new_api_key, split_api_key, verify_api_key
from workspaces.models import ApiKey, AuditEvent, Workspace
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "authenticate",
    "count_workspaces",
    "create_api_key",
    "create_workspace",
    "get_workspace",
    "key_display_prefix",
    "list_api_keys",
    "list_audit_events",
    "list_workspaces",
    "record_audit",
    "revoke_api_key",
)

CLI_ACTOR = "cli"


def _clean_name(name: str, *, field: str = "name", max_length: int = 200) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > max_length:
        raise ValidationFailed([FieldError(field, "invalid", f"must be 1 to {max_length} visible characters")])
    return cleaned


def key_display_prefix(key: ApiKey) -> str:
    """The part of a key that may be shown again, to tell keys apart: ``lw_`` and its lookup characters."""
    return f"{API_KEY_PREFIX}{key.lookup}"


async def record_audit(
    session: AsyncSession,
    *,
    workspace_id: str,
    actor: str,
    action: str,
    target_type: str,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit event in the caller's transaction, so the record and the change commit together.

    Args:
        session: The session of the change being recorded.
        workspace_id: Whose log it goes into.
        actor: Who did it, e.g. ``api_key:key_…`` or ``cli``.
        action: What happened, e.g. ``form.created``.
        target_type: The kind of thing acted on, e.g. ``form``.
        target_id: Its id.
        details: Non-secret facts worth keeping (never keys, secrets or personal data).
    """
    session.add(
        AuditEvent(
            id=new_id("aud"),
            workspace_id=workspace_id,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details or {},
        )
    )


async def create_workspace(session: AsyncSession, *, name: str, actor: str = CLI_ACTOR) -> tuple[Workspace, str]:
    """Create a workspace with its first API key.

    Returns:
        The workspace and the plaintext key, which is never retrievable again.
    """
    workspace = Workspace(id=new_id("ws"), name=_clean_name(name))
    session.add(workspace)
    await session.flush()
    await record_audit(
        session,
        workspace_id=workspace.id,
        actor=actor,
        action="workspace.created",
        target_type="workspace",
        target_id=workspace.id,
        details={"name": workspace.name},
    )
    _, key = await create_api_key(session, workspace_id=workspace.id, name="first key", actor=actor)
    return workspace, key


async def get_workspace(session: AsyncSession, workspace_id: str) -> Workspace:
    """The workspace, or :class:`NotFound`."""
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound(f"no workspace {workspace_id}")
    return workspace


async def list_workspaces(session: AsyncSession) -> list[Workspace]:
    """Every workspace, oldest first (for the operator's CLI, never over the API)."""
    return list((await session.scalars(select(Workspace).order_by(Workspace.id))).all())


async def count_workspaces(session: AsyncSession) -> int:
    """How many workspaces exist."""
    return int(await session.scalar(select(func.count()).select_from(Workspace)) or 0)


async def create_api_key(session: AsyncSession, *, workspace_id: str, name: str, actor: str) -> tuple[ApiKey, str]:
    """Mint an API key for the workspace.

    Returns:
        The stored key row and the plaintext key, shown to the caller once.
    """
    parts = new_api_key()
    api_key = ApiKey(
        id=new_id("key"),
        workspace_id=workspace_id,
        name=_clean_name(name, max_length=100),
        lookup=parts.lookup,
        key_hash=hash_api_key(parts.key),
    )
    session.add(api_key)
    await session.flush()
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="api_key.created",
        target_type="api_key",
        target_id=api_key.id,
        details={"name": api_key.name, "prefix": key_display_prefix(api_key)},
    )
    return api_key, parts.key


async def list_api_keys(session: AsyncSession, *, workspace_id: str) -> list[ApiKey]:
    """The workspace's keys, revoked ones included, newest first."""
    statement = select(ApiKey).where(ApiKey.workspace_id == workspace_id).order_by(ApiKey.id.desc())
    return list((await session.scalars(statement)).all())


async def revoke_api_key(session: AsyncSession, *, workspace_id: str, key_id: str, actor: str) -> ApiKey:
    """Revoke a key at once. Revoking the workspace's last live key is refused, so nobody locks themselves out.

    Raises:
        NotFound: No such key in this workspace.
        Conflict: It is the last live key.
    """
    api_key = await session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.workspace_id == workspace_id))
    if api_key is None:
        raise NotFound(f"no API key {key_id}")
    if api_key.revoked_at is not None:
        return api_key
    live = await session.scalar(
        select(func.count()).where(ApiKey.workspace_id == workspace_id, ApiKey.revoked_at.is_(None))
    )
    if (live or 0) <= 1:
        raise Conflict("this is the workspace's last live key; create another before revoking it")
    api_key.revoked_at = utcnow()
    await record_audit(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="api_key.revoked",
        target_type="api_key",
        target_id=api_key.id,
        details={"prefix": key_display_prefix(api_key)},
    )
    return api_key


async def authenticate(session: AsyncSession, key: str) -> Caller | None:
    """The caller a presented key belongs to, or ``None`` for an unknown, malformed or revoked key."""
    parts = split_api_key(key)
    if parts is None:
        return None
    candidates = await session.scalars(select(ApiKey).where(ApiKey.lookup == parts.lookup, ApiKey.revoked_at.is_(None)))
    for candidate in candidates:
        if verify_api_key(parts.key, candidate.key_hash):
            return Caller(workspace_id=candidate.workspace_id, api_key_id=candidate.id)
    return None


async def list_audit_events(
    session: AsyncSession, *, workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[AuditEvent], str | None]:
    """One page of the workspace's audit log, newest first."""
    statement = select(AuditEvent).where(AuditEvent.workspace_id == workspace_id)
    return await fetch_page(session, statement, id_column=AuditEvent.id, limit=limit, cursor=cursor)
