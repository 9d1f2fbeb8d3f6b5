"""Workspaces, API keys and the audit log, as plain async functions over an explicit session."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec
from email_validator import EmailNotValidError, validate_email
from msgspec import UNSET
from sqlalchemy import func, null, select, update

from core.database import utcnow
from core.errors import Conflict, FieldError, NotFound, ValidationFailed
from core.ids import new_id
from core.pagination import fetch_page
from core.security import API_KEY_PREFIX, hash_api_key, new_api_key, split_api_key, verify_api_key
from workspaces.models import ApiKey, AuditEvent, ConsoleSession, Workspace
from workspaces.schemas import Caller, WorkspaceSettings

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.ext.asyncio import AsyncSession

    from workspaces.schemas import WorkspaceUpdate

__all__ = (
    "authenticate",
    "count_workspaces",
    "create_api_key",
    "create_workspace",
    "get_api_key",
    "get_workspace",
    "key_display_prefix",
    "list_api_keys",
    "list_audit_events",
    "list_workspaces",
    "record_audit",
    "revoke_api_key",
    "settings_of",
    "update_workspace",
    "workspace_settings",
)

CLI_ACTOR = "cli"
_logger = logging.getLogger("leadwire.workspaces")
_RETENTION_KEYS = ("retain_spam_days", "retain_attempt_bodies_days", "retain_submissions_days")


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


def settings_of(workspace: Workspace) -> WorkspaceSettings:
    """The workspace's settings, with defaults for every key it never set."""
    return msgspec.convert(workspace.settings or {}, WorkspaceSettings)


def _checked_settings(settings: WorkspaceSettings) -> WorkspaceSettings:
    """Beyond the schema's patterns: a syntactically valid address (no DNS lookup) and a URL with a host."""
    errors = []
    contact = settings.contact_email
    if contact is not None:
        try:
            contact = validate_email(contact, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            errors.append(FieldError("settings.contact_email", "invalid_email", str(exc)))
    url = settings.privacy_policy_url
    if url is not None:
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        if not host:
            errors.append(
                FieldError("settings.privacy_policy_url", "invalid_url", "expected an http(s) URL with a host")
            )
    if errors:
        raise ValidationFailed(errors)
    return msgspec.structs.replace(settings, contact_email=contact)


async def update_workspace(session: AsyncSession, *, workspace_id: str, data: WorkspaceUpdate, actor: str) -> Workspace:
    """Rename the workspace and change its settings key by key; an audit event names what changed.

    Args:
        session: A write session.
        workspace_id: The caller's workspace.
        data: What to change; settings not given keep their values.
        actor: Who asks, for the audit log.

    Returns:
        The workspace as it is now.

    Raises:
        NotFound: No such workspace.
        ValidationFailed: The contact address or the privacy policy URL is not acceptable.
    """
    workspace = await session.get(Workspace, workspace_id, with_for_update=True)
    if workspace is None:
        raise NotFound(f"no workspace {workspace_id}")
    before = settings_of(workspace)
    after = before
    if data.settings is not UNSET:
        changes = {k: v for k, v in msgspec.structs.asdict(data.settings).items() if v is not UNSET}
        after = _checked_settings(msgspec.structs.replace(before, **changes))
    name = workspace.name if data.name is UNSET else _clean_name(data.name)
    old, new = msgspec.structs.asdict(before), msgspec.structs.asdict(after)
    changed = [f"settings.{key}" for key in old if old[key] != new[key]]
    if name != workspace.name:
        changed.insert(0, "name")
    if not changed:
        return workspace
    workspace.name = name
    workspace.settings = msgspec.to_builtins(after)
    details: dict[str, Any] = {"changed": changed}
    # Retention periods decide what gets deleted, so the log keeps their new values; the contact stays out of it.
    retention = {key: new[key] for key in _RETENTION_KEYS if old[key] != new[key]}
    if retention:
        details["retention"] = retention
    await record_audit(
        session,
        workspace_id=workspace.id,
        actor=actor,
        action="workspace.updated",
        target_type="workspace",
        target_id=workspace.id,
        details=details,
    )
    return workspace


async def workspace_settings(
    session: AsyncSession, workspace_ids: Iterable[str] | None = None
) -> dict[str, WorkspaceSettings]:
    """The settings of these workspaces (every workspace when ``None``), by workspace id.

    A workspace whose stored settings cannot be read is left out and logged, so that a retention purge skips it
    rather than apply default periods its owner had changed.
    """
    statement = select(Workspace.id, Workspace.settings)
    if workspace_ids is not None:
        statement = statement.where(Workspace.id.in_(list(workspace_ids)))
    found: dict[str, WorkspaceSettings] = {}
    for workspace_id, stored in await session.execute(statement.order_by(Workspace.id)):
        try:
            found[workspace_id] = msgspec.convert(stored or {}, WorkspaceSettings)
        except msgspec.ValidationError as exc:
            _logger.warning("workspace %s: unreadable settings left out (%s)", workspace_id, exc)
    return found


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


async def get_api_key(session: AsyncSession, *, workspace_id: str, key_id: str) -> ApiKey:
    """One of the workspace's keys, revoked or not.

    Raises:
        NotFound: No such key in this workspace.
    """
    api_key = await session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.workspace_id == workspace_id))
    if api_key is None:
        raise NotFound(f"no API key {key_id}")
    return api_key


async def revoke_api_key(session: AsyncSession, *, workspace_id: str, key_id: str, actor: str) -> ApiKey:
    """Revoke a key at once, and end its console sessions. Revoking the workspace's last live key is refused, so
    nobody locks themselves out.

    Raises:
        NotFound: No such key in this workspace.
        Conflict: It is the last live key.
    """
    api_key = await get_api_key(session, workspace_id=workspace_id, key_id=key_id)
    if api_key.revoked_at is not None:
        return api_key
    # Two revokes at once must not both see another live key: take the workspace's row first (PostgreSQL; SQLite's
    # write transactions are serial already).
    await session.execute(select(Workspace.id).where(Workspace.id == workspace_id).with_for_update())
    live = await session.scalar(
        select(func.count()).where(ApiKey.workspace_id == workspace_id, ApiKey.revoked_at.is_(None))
    )
    if (live or 0) <= 1:
        raise Conflict("this is the workspace's last live key; create another before revoking it")
    api_key.revoked_at = utcnow()
    # Its console sessions end with it (the console also checks the key on every request); secrets still on their
    # way to those sessions' pages are dropped.
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.api_key_id == api_key.id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=api_key.revoked_at, reveal=null())
    )
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
