"""API keys: made by a member (their own, or a named service key), with scopes, never worth more than their
creator's role (checked when made and on every use), revoked at once, and when they were last used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from msgspec import UNSET, UnsetType
from sqlalchemy import func, select, update

from core.database import utcnow
from core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from core.ids import new_id
from core.security import API_KEY_PREFIX, hash_api_key, new_api_key, split_api_key, verify_api_key
from workspaces.models import ApiKey, Member, Membership, Workspace
from workspaces.roles import KEY_SCOPES, Role, Scope, scopes_of_role
from workspaces.schemas import Caller
from workspaces.service import clean_name, record_audit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "TOUCH_AFTER",
    "Authenticated",
    "authenticate",
    "create_api_key",
    "get_api_key",
    "key_display_prefix",
    "list_api_keys",
    "revoke_api_key",
    "revoke_keys_of",
    "touch_key",
)

TOUCH_AFTER = timedelta(seconds=60)
"""``last_used_at`` is written at most this often per key: one write a minute, not one per request."""


def key_display_prefix(key: ApiKey) -> str:
    """The part of a key that may be shown again, to tell keys apart: ``lw_`` and its lookup characters."""
    return f"{API_KEY_PREFIX}{key.lookup}"


def _scopes_for(creator: Caller | None, wanted: list[Scope] | UnsetType) -> list[Scope]:
    """The new key's scopes: what was asked (or all the creator may give), never more than the creator's role and,
    when the creator is itself a key, than that key's scopes."""
    allowed = set(KEY_SCOPES) if creator is None else set(scopes_of_role(creator.role))
    if creator is not None and creator.api_key_id is not None:
        allowed &= set(creator.scopes)
    if isinstance(wanted, UnsetType):
        return [scope for scope in KEY_SCOPES if scope in allowed]
    beyond = sorted(set(wanted) - allowed)
    if beyond:
        raise Forbidden(f"a key cannot have more than its creator may do: not {', '.join(beyond)}")
    return [scope for scope in KEY_SCOPES if scope in wanted]


async def create_api_key(
    session: AsyncSession,
    *,
    workspace_id: str,
    name: str,
    actor: str,
    creator: Caller | None = None,
    kind: str | UnsetType = UNSET,
    scopes: list[Scope] | UnsetType = UNSET,
    forms_only: bool = False,
) -> tuple[ApiKey, str]:
    """Mint an API key for the workspace.

    Args:
        session: A write session.
        workspace_id: The workspace.
        name: What the key is for.
        actor: Who asks, for the audit log.
        creator: The member (or key) making it; ``None`` for the operator's command line, whose keys act as owners.
        kind: ``member`` (the creator's own) or ``service``; by default ``member`` when a member makes it.
        scopes: What it may do; by default all the creator's role can use.
        forms_only: Limit it to the forms API.

    Returns:
        The stored key row and the plaintext key, shown to the caller once.

    Raises:
        Forbidden: More scopes than the creator's role (or key) allows.
        ValidationFailed: A member key asked for without a member to own it, or a bad name.
    """
    member_id = creator.member_id if creator is not None else None
    chosen = ("member" if member_id else "service") if isinstance(kind, UnsetType) else kind
    if chosen == "member" and member_id is None:
        raise ValidationFailed(
            [FieldError("kind", "no_member", "a member key needs a member: sign in, or make a service key")]
        )
    parts = new_api_key()
    api_key = ApiKey(
        id=new_id("key"),
        workspace_id=workspace_id,
        name=clean_name(name, max_length=100),
        lookup=parts.lookup,
        key_hash=hash_api_key(parts.key),
        kind=chosen,
        created_by_id=member_id,
        scopes=_scopes_for(creator, scopes),
        forms_only=forms_only,
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
        details={
            "name": api_key.name,
            "prefix": key_display_prefix(api_key),
            "kind": chosen,
            "scopes": api_key.scopes,
            "forms_only": forms_only,
        },
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
    """Revoke a key at once. Revoking the workspace's last live key is refused, so that a workspace without members
    yet keeps a way in.

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


async def revoke_keys_of(session: AsyncSession, *, workspace_id: str, member_id: str, actor: str) -> int:
    """Revoke every live key a member made in the workspace (they were removed from it).

    Returns:
        How many keys were revoked.
    """
    now = utcnow()
    revoked = await session.execute(
        update(ApiKey)
        .where(ApiKey.workspace_id == workspace_id, ApiKey.created_by_id == member_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiKey.id)
    )
    ids = [key_id for (key_id,) in revoked.all()]
    for key_id in ids:
        await record_audit(
            session,
            workspace_id=workspace_id,
            actor=actor,
            action="api_key.revoked",
            target_type="api_key",
            target_id=key_id,
            details={"reason": "creator_removed"},
        )
    return len(ids)


@dataclass(frozen=True)
class Authenticated:
    """A live key's caller, and when the key was last used (to write it again at most once a minute)."""

    caller: Caller
    last_used_at: datetime | None

    @property
    def used_long_ago(self) -> bool:
        return self.last_used_at is None or utcnow() - self.last_used_at >= TOUCH_AFTER


async def authenticate(session: AsyncSession, key: str) -> Authenticated | None:
    """The caller a presented key belongs to, or ``None`` for an unknown, malformed or revoked key, or one whose
    creator has left the workspace or is disabled. The caller's role is the creator's role now, so a demotion
    limits the creator's keys at once."""
    parts = split_api_key(key)
    if parts is None:
        return None
    candidates = await session.execute(
        select(ApiKey, Membership.role, Member.disabled_at)
        .outerjoin(
            Membership,
            (Membership.member_id == ApiKey.created_by_id) & (Membership.workspace_id == ApiKey.workspace_id),
        )
        .outerjoin(Member, Member.id == ApiKey.created_by_id)
        .where(ApiKey.lookup == parts.lookup, ApiKey.revoked_at.is_(None))
    )
    for candidate, role, disabled_at in candidates:
        if not verify_api_key(parts.key, candidate.key_hash):
            continue
        if candidate.created_by_id is not None and (role is None or disabled_at is not None):
            return None
        caller = Caller(
            workspace_id=candidate.workspace_id,
            role=_role(role),
            member_id=candidate.created_by_id,
            api_key_id=candidate.id,
            scopes=tuple(scope for scope in KEY_SCOPES if scope in candidate.scopes),
            forms_only=candidate.forms_only,
        )
        return Authenticated(caller, candidate.last_used_at)
    return None


def _role(stored: str | None) -> Role:
    for role in ("owner", "admin", "editor", "viewer"):
        if stored == role:
            return role
    return "owner" if stored is None else "viewer"  # no creator: an owner's key; an unknown role: the least


async def touch_key(session: AsyncSession, key_id: str) -> None:
    """Record that the key was used just now (in a write session)."""
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))
