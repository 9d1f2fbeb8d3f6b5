"""Console sessions as the service keeps them: hashed tokens, ends of every kind, and secrets that are taken once."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, text, update

from core.database import utcnow
from workspaces import members, sessions
from workspaces import service as workspaces
from workspaces.models import ConsoleSession, Member, Membership

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Tenant

_DAY = 86_400


_IDLE = 1_800


async def _open(
    db: Database, tenant: Tenant, *, user_agent: str | None = "Firefox", address: str | None = "203.0.113.0"
) -> tuple[str, str]:
    """A new session of the tenant's owner: its token and its id."""
    async with db.session(write=True) as session:
        token = await sessions.open_session(
            session,
            member_id=tenant.member_id,
            workspace_id=tenant.workspace_id,
            lifetime_seconds=_DAY,
            user_agent=user_agent,
            address=address,
        )
    return token, hashlib.sha256(token.encode()).hexdigest()


async def _find(db: Database, token: str) -> sessions.LiveSession | None:
    async with db.session(write=False) as session:
        return await sessions.find_session(session, token, idle_seconds=_IDLE)


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


async def test_signing_out_or_signing_out_everywhere_ends_sessions(
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
        ended = await sessions.end_member_sessions(
            session, member_id=tenant.member_id, workspace_id=tenant.workspace_id, actor="cli"
        )
    token_c, _ = await _open(db, tenant)  # signing in clears away the member's ended sessions
    async with db.session(write=True) as session:
        remaining = list(await session.scalars(select(ConsoleSession.id).order_by(ConsoleSession.id)))
        events, _ = await workspaces.list_audit_events(session, workspace_id=tenant.workspace_id, limit=5, cursor=None)

    assert after_sign_out[0] is None
    assert after_sign_out[1] is not None
    assert ended == 1
    assert await _find(db, token_b) is None
    assert await _take(db, id_b, "/console/keys/key_1/new") is None  # its secret went with it
    assert await _find(db, token_other) is not None  # another member's session
    assert id_a not in remaining
    assert id_b not in remaining
    assert len(remaining) == 2  # this member's new session and the other member's
    assert await _find(db, token_c) is not None
    signed_out = next(e for e in events if e.action == "console.signed_out_everywhere")
    assert (signed_out.target_type, signed_out.details) == ("member", {"sessions": 1})


async def test_a_session_idles_out_and_follows_its_members_standing(db: Database, tenant: Tenant) -> None:
    token, _ = await _open(db, tenant)
    fresh = await _find(db, token)
    async with db.session(write=True) as session:  # used 31 minutes ago: past the idle timeout
        await session.execute(update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(seconds=_IDLE + 60)))
    idle = await _find(db, token)
    token, _ = await _open(db, tenant)
    async with db.session(write=True) as session:
        await session.execute(update(Membership).values(role="viewer"))
    demoted = await _find(db, token)
    async with db.session(write=True) as session:
        await session.execute(update(Member).where(Member.id == tenant.member_id).values(disabled_at=utcnow()))
    disabled = await _find(db, token)

    assert fresh is not None
    assert (fresh.role, fresh.member_id, fresh.email) == ("owner", tenant.member_id, tenant.email)
    assert idle is None
    assert demoted is not None
    assert demoted.role == "viewer"  # read on every request, never kept in the session
    assert disabled is None


async def test_a_member_lists_their_sessions_and_ends_only_their_own(
    db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1"
    )
    _, laptop = await _open(db, tenant, user_agent=firefox)
    phone_token, phone = await _open(db, tenant, user_agent=iphone, address="2001:db8:1::")
    _, theirs = await _open(db, other_tenant)
    async with db.session(write=False) as session:
        listed = await sessions.list_member_sessions(session, member_id=tenant.member_id, idle_seconds=_IDLE)
    async with db.session(write=True) as session:
        not_mine = await sessions.end_member_session(session, member_id=tenant.member_id, session_id=theirs)
        mine = await sessions.end_member_session(session, member_id=tenant.member_id, session_id=phone)

    assert {(s.id, s.device, s.address) for s in listed} == {
        (laptop, "Firefox on Linux", "203.0.113.0"),
        (phone, "Safari on iPhone", "2001:db8:1::"),
    }
    assert not_mine is False
    assert mine is True
    assert await _find(db, phone_token) is None


async def test_a_new_password_ends_every_other_session_of_the_member(db: Database, tenant: Tenant) -> None:
    token_here, id_here = await _open(db, tenant)
    token_there, _ = await _open(db, tenant)
    async with db.session(write=True) as session:
        ended = await members.set_password(
            session, member_id=tenant.member_id, password_hash="$argon2id$x", actor="cli", keep_session=id_here
        )

    assert ended == 1
    assert await _find(db, token_here) is not None
    assert await _find(db, token_there) is None
