"""Console sessions as the service keeps them: hashed tokens, ends of every kind, and secrets that are taken once."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, text, update

from core.database import utcnow
from workspaces import service as workspaces
from workspaces import sessions
from workspaces.models import ConsoleSession

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Tenant

_DAY = 86_400


async def _open(db: Database, tenant: Tenant, *, user_agent: str | None = "Firefox") -> tuple[str, str]:
    """A new session of the tenant's first key: its token and its id."""
    async with db.session(write=True) as session:
        caller = await workspaces.authenticate(session, tenant.key)
        assert caller
        token, live = await sessions.open_session(session, caller=caller, lifetime_seconds=_DAY, user_agent=user_agent)
    return token, live.id


async def _find(db: Database, token: str) -> sessions.LiveSession | None:
    async with db.session(write=False) as session:
        return await sessions.find_session(session, token)


async def _take(db: Database, session_id: str, path: str) -> sessions.Revealed | None:
    async with db.session(write=True) as session:
        return await sessions.take_reveal(session, session_id, path=path)


async def _stash(db: Database, session_id: str, path: str, value: str) -> None:
    async with db.session(write=True) as session:
        await sessions.stash_reveal(session, session_id, path=path, revealed=sessions.Revealed(value, "2030-01-01"))


async def test_only_the_tokens_hash_is_stored_and_the_session_lasts_until_its_end(db: Database, tenant: Tenant) -> None:
    token, session_id = await _open(db, tenant, user_agent="x" * 500)
    live = await _find(db, token)
    async with db.session(write=False) as session:
        row = await session.get(ConsoleSession, session_id)
        assert row is not None
        stored = [str(value) for value in (await session.execute(text("SELECT * FROM console_session"))).one()]

    assert live is not None
    assert (live.workspace_id, live.workspace_name) == (tenant.workspace_id, "Acme")
    assert session_id == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in value for value in stored)
    assert row.user_agent == "x" * 200
    assert timedelta(seconds=_DAY - 60) < row.expires_at - row.created_at <= timedelta(seconds=_DAY)
    assert await _find(db, token + "x") is None
    async with db.session(write=True) as session:
        await session.execute(update(ConsoleSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert await _find(db, token) is None


async def test_a_secret_is_taken_once_by_its_own_page_within_two_minutes(db: Database, tenant: Tenant) -> None:
    _, session_id = await _open(db, tenant)
    await _stash(db, session_id, "/console/keys/key_1/new", "lw_secret_one")
    elsewhere = await _take(db, session_id, "/console/keys/key_2/new")
    first = await _take(db, session_id, "/console/keys/key_1/new")
    second = await _take(db, session_id, "/console/keys/key_1/new")
    await _stash(db, session_id, "/console/keys/key_1/new", "lw_secret_two")
    async with db.session(write=True) as session:  # two minutes later
        row = await session.get(ConsoleSession, session_id)
        assert row is not None
        assert row.reveal is not None
        row.reveal = {**row.reveal, "expires_at": (utcnow() - timedelta(seconds=1)).isoformat()}
    late = await _take(db, session_id, "/console/keys/key_1/new")
    async with db.session(write=False) as session:
        left = await session.scalar(select(ConsoleSession.reveal).where(ConsoleSession.id == session_id))

    assert elsewhere is None  # and it is still there for its own page:
    assert first == sessions.Revealed("lw_secret_one", "2030-01-01")
    assert second is None
    assert late is None
    assert left is None  # a late secret is dropped, not kept


async def test_signing_out_revoking_the_key_or_signing_out_everywhere_ends_sessions(
    db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    token_a, id_a = await _open(db, tenant)
    token_b, id_b = await _open(db, tenant)
    token_other, _ = await _open(db, other_tenant)
    await _stash(db, id_b, "/console/keys/key_1/new", "lw_secret")
    async with db.session(write=True) as session:
        await sessions.end_session(session, id_a)
    after_sign_out = (await _find(db, token_a), await _find(db, token_b))
    async with db.session(write=True) as session:
        ended = await sessions.end_workspace_sessions(session, workspace_id=tenant.workspace_id, actor="cli")
    token_c, id_c = await _open(db, tenant)  # signing in clears away the ended sessions of the workspace
    async with db.session(write=True) as session:
        remaining = list(await session.scalars(select(ConsoleSession.id).order_by(ConsoleSession.id)))
        spare, _ = await workspaces.create_api_key(session, workspace_id=tenant.workspace_id, name="spare", actor="cli")
        caller = await workspaces.authenticate(session, tenant.key)
        assert caller
        await workspaces.revoke_api_key(
            session, workspace_id=tenant.workspace_id, key_id=caller.api_key_id, actor="cli"
        )
        events, _ = await workspaces.list_audit_events(session, workspace_id=tenant.workspace_id, limit=5, cursor=None)
        revoked = await session.get(ConsoleSession, id_c)

    assert after_sign_out[0] is None
    assert after_sign_out[1] is not None
    assert ended == 1
    assert await _find(db, token_b) is None
    assert await _take(db, id_b, "/console/keys/key_1/new") is None  # its secret went with it
    assert await _find(db, token_other) is not None  # another workspace's session
    assert id_a not in remaining
    assert id_b not in remaining
    assert len(remaining) == 2  # this workspace's new session and the other workspace's
    assert await _find(db, token_c) is None
    assert revoked is not None
    assert revoked.revoked_at is not None
    assert spare.revoked_at is None
    signed_out = next(e for e in events if e.action == "console.signed_out_everywhere")
    assert (signed_out.target_type, signed_out.details) == ("workspace", {"sessions": 1})


async def test_a_session_needs_its_key_to_be_live(db: Database, tenant: Tenant) -> None:
    token, _ = await _open(db, tenant)
    async with db.session(write=True) as session:
        await workspaces.create_api_key(session, workspace_id=tenant.workspace_id, name="spare", actor="cli")
        caller = await workspaces.authenticate(session, tenant.key)
        assert caller is not None
        # Revoked behind the service's back (as an older version did): the join on the key still ends the session.
        await session.execute(
            text("UPDATE api_key SET revoked_at = created_at WHERE id = :id"), {"id": caller.api_key_id}
        )

    assert await _find(db, token) is None
