"""Which second factors a member has, read from ``Member.mfa`` (what is stored there is ``workspaces.mfa``'s)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ("Factors", "factors_of")


@dataclass(frozen=True)
class Factors:
    """A member's second factors: an authenticator app (TOTP), passkeys, and the recovery codes left."""

    totp: bool = False
    passkeys: int = 0
    recovery_codes: int = 0

    @property
    def any(self) -> bool:
        """Whether the member has a second factor: signing in then takes it after the password."""
        return self.totp or self.passkeys > 0


def factors_of(stored: Any) -> Factors:
    """The factors in a member's ``mfa`` value; nothing for ``None`` or for what this version cannot read."""
    if not isinstance(stored, dict):
        return Factors()
    totp = stored.get("totp")
    passkeys = stored.get("passkeys")
    recovery = stored.get("recovery")
    return Factors(
        totp=isinstance(totp, dict) and isinstance(totp.get("secret"), str),
        passkeys=passkeys if isinstance(passkeys, int) and passkeys > 0 else 0,
        recovery_codes=len(recovery) if isinstance(recovery, list) else 0,
    )
