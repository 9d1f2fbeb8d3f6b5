"""Passkeys (WebAuthn, with the ``webauthn`` package): registered from "Your account", used as a second factor after
the password, or to sign in without one (discoverable credentials, with user verification).

The relying party is this server: its id is the host of ``LEADWIRE_PUBLIC_BASE_URL`` and the only origin accepted is
that URL's. Every ceremony's challenge is random, kept (hashed) in ``webauthn_challenge`` for a few minutes, and taken
by the answer to it: a challenge is answered at most once, and one made for a session is answered only in it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from core.database import utcnow
from core.ids import new_id
from workspaces import members, mfa, sessions
from workspaces.models import Member, Passkey, WebAuthnChallenge
from workspaces.service import clean_name

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "PasskeyRefused",
    "RelyingParty",
    "authenticate",
    "authentication_options",
    "list_passkeys",
    "register",
    "registration_options",
    "remove_passkey",
)

CHALLENGE_SECONDS = 300
"""How long a browser has to answer a challenge."""
Purpose = Literal["register", "second-factor", "sign-in"]


class PasskeyRefused(Exception):
    """What a browser sent does not prove a passkey of this member (or any, for signing in): the message says why,
    in words for the person."""


@dataclass(frozen=True)
class RelyingParty:
    """This server as WebAuthn names it."""

    id: str
    origin: str
    name: str = "Leadwire"

    @classmethod
    def of(cls, public_base_url: str) -> RelyingParty:
        """The relying party of ``LEADWIRE_PUBLIC_BASE_URL``: its host is the id, its scheme and host the origin."""
        parts = urlsplit(public_base_url)
        return cls(id=parts.hostname or "", origin=f"{parts.scheme}://{parts.netloc}")

    @property
    def possible(self) -> bool:
        """Whether browsers can use passkeys here: the id must be a domain name (not an address), reached over https
        or as ``localhost`` (a secure context without TLS)."""
        try:
            ipaddress.ip_address(self.id)
        except ValueError:
            local = self.id == "localhost" or self.id.endswith(".localhost")
            return bool(self.id) and (self.origin.startswith("https://") or local)
        return False


def _hash(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


async def _new_challenge(session: AsyncSession, *, purpose: Purpose, session_id: str | None) -> bytes:
    now = utcnow()
    await session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at <= now))
    challenge = secrets.token_bytes(32)
    session.add(
        WebAuthnChallenge(
            id=_hash(challenge),
            purpose=purpose,
            session_id=session_id,
            expires_at=now + timedelta(seconds=CHALLENGE_SECONDS),
        )
    )
    return challenge


def _parsed(credential: str) -> dict[str, Any]:
    try:
        parsed = json.loads(credential)
        client_data = json.loads(base64url_to_bytes(parsed["response"]["clientDataJSON"]))
        challenge = base64url_to_bytes(client_data["challenge"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused("the browser's answer could not be read; try again") from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("id"), str):
        raise PasskeyRefused("the browser's answer could not be read; try again")
    parsed["_challenge"] = challenge
    return parsed


async def _take_challenge(
    session: AsyncSession, parsed: dict[str, Any], *, purpose: Purpose, session_id: str | None
) -> bytes:
    challenge: bytes = parsed.pop("_challenge")
    owner = WebAuthnChallenge.session_id.is_(None) if session_id is None else WebAuthnChallenge.session_id == session_id
    taken = await session.execute(
        delete(WebAuthnChallenge)
        .where(
            WebAuthnChallenge.id == _hash(challenge),
            WebAuthnChallenge.purpose == purpose,
            WebAuthnChallenge.expires_at > utcnow(),
            owner,
        )
        .returning(WebAuthnChallenge.id)
    )
    if not taken.all():
        raise PasskeyRefused("that request has expired or was answered already; try again")
    return challenge


async def list_passkeys(session: AsyncSession, *, member_id: str) -> list[Passkey]:
    """The member's passkeys, oldest first."""
    rows = await session.scalars(select(Passkey).where(Passkey.member_id == member_id).order_by(Passkey.created_at))
    return list(rows)


def _descriptors(found: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id)) for p in found]


async def registration_options(session: AsyncSession, *, member: Member, session_id: str, rp: RelyingParty) -> str:
    """What ``navigator.credentials.create()`` needs, as JSON (binary values in base64url): a discoverable credential
    for this member, none of those they have already."""
    challenge = await _new_challenge(session, purpose="register", session_id=session_id)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=member.id.encode(),  # an opaque id, not the address: authenticators may show or sync it
        user_name=member.email,
        user_display_name=member.name,
        challenge=challenge,
        timeout=CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
        exclude_credentials=_descriptors(await list_passkeys(session, member_id=member.id)),
    )
    return options_to_json(options)


async def _count(session: AsyncSession, member: Member) -> list[str] | None:
    await session.flush()
    count = await session.scalar(select(func.count()).where(Passkey.member_id == member.id))
    return mfa.passkeys_counted(member, int(count or 0))


async def register(
    session: AsyncSession, *, member_id: str, session_id: str, credential: str, name: str, rp: RelyingParty, actor: str
) -> tuple[Passkey, list[str] | None]:
    """Keep the passkey the browser made. The session counts as having given its second factor, the member's other
    sessions end, and a member without recovery codes gets ten.

    Returns:
        The passkey, and the new recovery codes to show once (``None`` when the member had some).

    Raises:
        PasskeyRefused: The answer is late, answered already, or does not verify.
    """
    parsed = _parsed(credential)
    challenge = await _take_challenge(session, parsed, purpose="register", session_id=session_id)
    try:
        verified = verify_registration_response(
            credential=parsed, expected_challenge=challenge, expected_rp_id=rp.id, expected_origin=rp.origin
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused("the passkey could not be verified; try again") from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    if await session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)) is not None:
        raise PasskeyRefused("this passkey is registered already")
    transports = parsed.get("response", {}).get("transports")
    passkey = Passkey(
        id=new_id("pk"),
        member_id=member_id,
        name=clean_name(name or "Passkey", max_length=100),
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[t for t in transports if isinstance(t, str)][:8] if isinstance(transports, list) else [],
        created_at=utcnow(),
    )
    session.add(passkey)
    member = await session.get(Member, member_id, with_for_update=True)
    assert member is not None  # the member of the signed-in session
    codes = await _count(session, member)
    await sessions.mark_second_factor(session, session_id)
    ended = await sessions.end_other_sessions(session, member_id=member_id, keep=session_id)
    await members.audit_everywhere(
        session, member_id, actor=actor, action="member.passkey_added", details={"sessions_ended": ended}
    )
    return passkey, codes


async def remove_passkey(
    session: AsyncSession, *, member_id: str, passkey_id: str, session_id: str, actor: str
) -> bool:
    """Forget one of the member's passkeys (the caller has checked their password); their other sessions end.

    Returns:
        Whether the member had it.
    """
    removed = await session.execute(
        delete(Passkey).where(Passkey.id == passkey_id, Passkey.member_id == member_id).returning(Passkey.id)
    )
    if not removed.all():
        return False
    member = await session.get(Member, member_id, with_for_update=True)
    assert member is not None
    await _count(session, member)
    ended = await sessions.end_other_sessions(session, member_id=member_id, keep=session_id)
    await members.audit_everywhere(
        session, member_id, actor=actor, action="member.passkey_removed", details={"sessions_ended": ended}
    )
    return True


async def authentication_options(
    session: AsyncSession, *, rp: RelyingParty, purpose: Purpose, session_id: str | None, member_id: str | None
) -> str:
    """What ``navigator.credentials.get()`` needs, as JSON: for a second factor, one of the member's passkeys; to sign
    in without a password, any discoverable one, verifying the person (PIN, fingerprint)."""
    allowed = await list_passkeys(session, member_id=member_id) if member_id is not None else []
    challenge = await _new_challenge(session, purpose=purpose, session_id=session_id)
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=CHALLENGE_SECONDS * 1000,
        allow_credentials=_descriptors(allowed),
        user_verification=(
            UserVerificationRequirement.REQUIRED if purpose == "sign-in" else UserVerificationRequirement.PREFERRED
        ),
    )
    return options_to_json(options)


async def authenticate(
    session: AsyncSession,
    *,
    credential: str,
    rp: RelyingParty,
    purpose: Purpose,
    session_id: str | None,
    member_id: str | None,
) -> str:
    """Check a passkey's answer to a challenge of ``purpose`` (for ``member_id``'s passkeys, when given).

    Returns:
        The id of the member whose passkey answered.

    Raises:
        PasskeyRefused: Late, answered already, unknown, another member's, or not verified.
    """
    parsed = _parsed(credential)
    challenge = await _take_challenge(session, parsed, purpose=purpose, session_id=session_id)
    passkey = await session.scalar(select(Passkey).where(Passkey.credential_id == parsed["id"]).with_for_update())
    if passkey is None or (member_id is not None and passkey.member_id != member_id):
        raise PasskeyRefused("this passkey is not one of this server's accounts'")
    handle = parsed.get("response", {}).get("userHandle")
    if handle and handle != bytes_to_base64url(passkey.member_id.encode()):
        raise PasskeyRefused("this passkey is not one of this server's accounts'")
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=purpose == "sign-in",
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused("the passkey could not be verified; try again") from exc
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    return passkey.member_id
