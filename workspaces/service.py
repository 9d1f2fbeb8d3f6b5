"""Workspaces, API keys and the audit log, as plain async functions over an explicit session."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec
from email_validator import EmailNotValidError, validate_email
from msgspec import UNSET
from sqlalchemy import func, select

from core.client_ip import REQUEST_CLIENT, truncated_ip
from core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from core.ids import new_id
from core.pagination import fetch_page
from workspaces.models import AuditEvent, Workspace
from workspaces.schemas import WorkspaceSettings

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.ext.asyncio import AsyncSession

    from workspaces.schemas import WorkspaceUpdate

__all__ = (
    "CLI_ACTOR",
    "clean_name",
    "count_workspaces",
    "create_workspace",
    "get_workspace",
    "list_audit_events",
    "list_workspaces",
    "record_audit",
    "settings_of",
    "update_workspace",
    "workspace_settings",
)

CLI_ACTOR = "cli"
_logger = logging.getLogger("leadwire.workspaces")
_RETENTION_KEYS = ("retain_spam_days", "retain_attempt_bodies_days", "retain_submissions_days")


def clean_name(name: str, *, field: str = "name", max_length: int = 200) -> str:
    """``name`` with its runs of white space made one space.

    Raises:
        ValidationFailed: Nothing visible is left, or it is longer than ``max_length``.
    """
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > max_length:
        raise ValidationFailed([FieldError(field, "invalid", f"must be 1 to {max_length} visible characters")])
    return cleaned


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

    The request's client address, truncated, is kept beside it (``core.client_ip.REQUEST_CLIENT``): every change
    names who made it and from where, without each slice passing the address along.
    """
    client = REQUEST_CLIENT.get()
    session.add(
        AuditEvent(
            id=new_id("aud"),
            workspace_id=workspace_id,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details or {},
            address=truncated_ip(client) if client else None,
        )
    )


async def create_workspace(session: AsyncSession, *, name: str, actor: str = CLI_ACTOR) -> tuple[Workspace, str]:
    """Create a workspace with its first API key.

    Returns:
        The workspace and the plaintext key, which is never retrievable again.
    """
    workspace = Workspace(id=new_id("ws"), name=clean_name(name))
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
    from workspaces import keys  # here, not at the top: keys.py records its changes through this module

    _, key = await keys.create_api_key(session, workspace_id=workspace.id, name="first key", actor=actor)
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


async def update_workspace(
    session: AsyncSession, *, workspace_id: str, data: WorkspaceUpdate, actor: str, role: str = "owner"
) -> Workspace:
    """Rename the workspace and change its settings key by key; an audit event names what changed.

    Args:
        session: A write session.
        workspace_id: The caller's workspace.
        data: What to change; settings not given keep their values.
        actor: Who asks, for the audit log.
        role: Their role here (only owners change ``require_mfa``).

    Returns:
        The workspace as it is now.

    Raises:
        NotFound: No such workspace.
        ValidationFailed: The contact address or the privacy policy URL is not acceptable.
        Forbidden: Someone other than an owner changing ``require_mfa``.
    """
    workspace = await session.get(Workspace, workspace_id, with_for_update=True)
    if workspace is None:
        raise NotFound(f"no workspace {workspace_id}")
    before = settings_of(workspace)
    after = before
    if data.settings is not UNSET:
        changes = {k: v for k, v in msgspec.structs.asdict(data.settings).items() if v is not UNSET}
        after = _checked_settings(msgspec.structs.replace(before, **changes))
    name = workspace.name if data.name is UNSET else clean_name(data.name)
    old, new = msgspec.structs.asdict(before), msgspec.structs.asdict(after)
    changed = [f"settings.{key}" for key in old if old[key] != new[key]]
    if name != workspace.name:
        changed.insert(0, "name")
    if not changed:
        return workspace
    if "settings.require_mfa" in changed and role != "owner":
        raise Forbidden("only an owner can change whether members need a second factor")
    workspace.name = name
    workspace.settings = msgspec.to_builtins(after)
    details: dict[str, Any] = {"changed": changed}
    # Retention periods decide what gets deleted, so the log keeps their new values; the contact stays out of it.
    retention = {key: new[key] for key in _RETENTION_KEYS if old[key] != new[key]}
    if retention:
        details["retention"] = retention
    if old["require_mfa"] != new["require_mfa"]:
        details["require_mfa"] = new["require_mfa"]
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


async def list_audit_events(
    session: AsyncSession, *, workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[AuditEvent], str | None]:
    """One page of the workspace's audit log, newest first."""
    statement = select(AuditEvent).where(AuditEvent.workspace_id == workspace_id)
    return await fetch_page(session, statement, id_column=AuditEvent.id, limit=limit, cursor=cursor)
