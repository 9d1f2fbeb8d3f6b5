"""A member's second factors: an authenticator app (TOTP) and recovery codes, kept in ``Member.mfa`` (encrypted).

``Member.mfa`` holds ``totp`` (the shared secret and the last time step used), ``totp_pending`` (a secret being set up,
not yet confirmed with a code), ``recovery`` (SHA-256 hashes of the unused recovery codes) and ``passkeys`` (how many
the member has, kept by ``workspaces.passkeys``, so that a request learns whether a member has a second factor from the
row it reads anyway). Every change ends the member's other sessions and is recorded in each of their workspaces' logs.
Codes are checked in a write transaction that holds the member's row: two requests with one code cannot both pass.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any, Literal

from core.database import utcnow
from core.errors import NotFound
from core.ids import random_token
from workspaces import members, sessions, totp
from workspaces.factors import factors_of
from workspaces.models import Member

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "RECOVERY_CODES",
    "check_code",
    "confirm_totp",
    "disable_totp",
    "new_recovery_codes",
    "passkeys_counted",
    "pending_totp",
    "start_totp",
    "stored_mfa",
    "with_recovery_codes",
)

RECOVERY_CODES = 10
"""Recovery codes made at a time, each good once."""
_CODE_GROUPS = 4  # xxxx-xxxx-xxxx-xxxx: 16 characters of 5 bits, 80 bits each
_READ_AS = str.maketrans({"i": "1", "l": "1", "o": "0"})  # what people type for Crockford's missing letters


async def _member(session: AsyncSession, member_id: str) -> Member:
    member = await session.get(Member, member_id, with_for_update=True)
    if member is None:
        raise NotFound(f"no member {member_id}")
    return member


def stored_mfa(member: Member) -> dict[str, Any]:
    """A copy of the member's ``mfa`` value to change and store back (empty when they have none)."""
    return dict(member.mfa) if isinstance(member.mfa, dict) else {}


def _store(member: Member, value: dict[str, Any]) -> None:
    member.mfa = value or None


def _code_hash(code: str) -> str:
    normalised = "".join(ch for ch in code.lower().translate(_READ_AS) if ch.isascii() and ch.isalnum())
    return hashlib.sha256(normalised.encode("ascii")).hexdigest()


def new_recovery_codes() -> list[str]:
    """Ten new recovery codes, as the member will type them."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = random_token(4 * _CODE_GROUPS)
        codes.append("-".join(raw[index : index + 4] for index in range(0, len(raw), 4)))
    return codes


def with_recovery_codes(value: dict[str, Any], codes: list[str]) -> dict[str, Any]:
    """``value`` holding the hashes of ``codes`` as the recovery codes (any earlier ones stop working)."""
    return {**value, "recovery": [_code_hash(code) for code in codes]}


def passkeys_counted(member: Member, count: int) -> list[str] | None:
    """Note how many passkeys the member has now (``workspaces.passkeys`` counts them): a first second factor brings
    ten recovery codes, and with no second factor left the recovery codes go.

    Returns:
        New recovery codes to show once, or ``None``.
    """
    value = stored_mfa(member)
    if count > 0:
        value["passkeys"] = count
    else:
        value.pop("passkeys", None)
    codes = None
    if count > 0 and not factors_of(value).recovery_codes:
        codes = new_recovery_codes()
        value = with_recovery_codes(value, codes)
    if not factors_of(value).any:
        value.pop("recovery", None)
    _store(member, value)
    return codes


async def start_totp(session: AsyncSession, *, member_id: str) -> str:
    """Make a new secret for an authenticator app, waiting to be confirmed with a first code (it replaces one that
    was waiting; an app already confirmed keeps working until the new one is).

    Returns:
        The secret.
    """
    member = await _member(session, member_id)
    secret = totp.new_secret()
    _store(member, {**stored_mfa(member), "totp_pending": {"secret": secret, "started_at": utcnow().isoformat()}})
    return secret


async def pending_totp(session: AsyncSession, *, member_id: str) -> str | None:
    """The secret waiting to be confirmed, if any."""
    member = await session.get(Member, member_id)
    pending = stored_mfa(member).get("totp_pending") if member is not None else None
    secret = pending.get("secret") if isinstance(pending, dict) else None
    return secret if isinstance(secret, str) else None


async def confirm_totp(
    session: AsyncSession, *, member_id: str, code: str, session_id: str, actor: str
) -> list[str] | None:
    """Turn the authenticator app on once its first code is right: the session that did it counts as having given
    its second factor, the member's other sessions end, and ten new recovery codes replace any earlier ones.

    Returns:
        The new recovery codes, to show once; ``None`` when the code is wrong (or nothing waits to be confirmed).
    """
    member = await _member(session, member_id)
    value = stored_mfa(member)
    pending = value.get("totp_pending")
    secret = pending.get("secret") if isinstance(pending, dict) else None
    step = totp.matching_step(secret, code) if isinstance(secret, str) else None
    if step is None or secret is None:
        return None
    codes = new_recovery_codes()
    value.pop("totp_pending", None)
    value["totp"] = {"secret": secret, "last_step": step, "since": utcnow().isoformat()}
    _store(member, with_recovery_codes(value, codes))
    await sessions.mark_second_factor(session, session_id)
    ended = await sessions.end_other_sessions(session, member_id=member_id, keep=session_id)
    await members.audit_everywhere(
        session, member_id, actor=actor, action="member.totp_enabled", details={"sessions_ended": ended}
    )
    return codes


async def disable_totp(session: AsyncSession, *, member_id: str, session_id: str, actor: str) -> bool:
    """Turn the authenticator app off (the caller has checked the member's password). Without passkeys left, the
    recovery codes go too. The member's other sessions end.

    Returns:
        Whether it was on.
    """
    member = await _member(session, member_id)
    value = stored_mfa(member)
    had = factors_of(value).totp
    value.pop("totp", None)
    value.pop("totp_pending", None)
    if not factors_of(value).any:
        value.pop("recovery", None)
    _store(member, value)
    if had:
        ended = await sessions.end_other_sessions(session, member_id=member_id, keep=session_id)
        await members.audit_everywhere(
            session, member_id, actor=actor, action="member.totp_disabled", details={"sessions_ended": ended}
        )
    return had


async def check_code(session: AsyncSession, *, member_id: str, code: str) -> Literal["totp", "recovery_code"] | None:
    """Take a second-factor code: the authenticator app's (for a time step later than the last one used, which it
    becomes) or one of the recovery codes (which stops working).

    Returns:
        Which kind of code it was; ``None`` when it opens nothing.
    """
    member = await _member(session, member_id)
    value = stored_mfa(member)
    app = value.get("totp")
    if isinstance(app, dict) and isinstance(app.get("secret"), str):
        last = app.get("last_step")
        step = totp.matching_step(app["secret"], code, after=last if isinstance(last, int) else None)
        if step is not None:
            value["totp"] = {**app, "last_step": step}
            _store(member, value)
            return "totp"
    hashes = value.get("recovery")
    if isinstance(hashes, list):
        wanted = _code_hash(code)
        match = next((h for h in hashes if isinstance(h, str) and hmac.compare_digest(h, wanted)), None)
        if match is not None:
            value["recovery"] = [h for h in hashes if h != match]
            _store(member, value)
            return "recovery_code"
    return None
