"""The role matrix, in one place: which role may do what, and which scope an API key needs for it.

Every API route and console page declares the permission it needs (``opt={"permission": "forms:write"}``); the
guards (``workspaces.auth`` for the API, ``console.pages`` for the console) look it up here. A route that declares
none is refused, and ``tests/workspaces/test_role_matrix.py`` walks the route table so that a new route without one
fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = (
    "KEY_SCOPES",
    "PERMISSIONS",
    "ROLES",
    "ROLE_LABELS",
    "Grant",
    "Role",
    "Scope",
    "key_allows",
    "role_allows",
    "scopes_of_role",
)

Role = Literal["owner", "admin", "editor", "viewer"]
Scope = Literal["read", "write", "submit", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
"""From the most to the least powerful."""
KEY_SCOPES: tuple[Scope, ...] = get_args(Scope)
ROLE_LABELS: dict[Role, str] = {
    "owner": "Owner: everything, including members, owners and deleting data",
    "admin": "Admin: everything but ownership (cannot make or remove owners)",
    "editor": "Editor: forms, sources and endpoints; no erasure, exports, members or keys",
    "viewer": "Viewer: reads forms, leads and deliveries; changes nothing, exports nothing",
}

_ALL: frozenset[Role] = frozenset(ROLES)
_EDITORS: frozenset[Role] = frozenset({"owner", "admin", "editor"})
_ADMINS: frozenset[Role] = frozenset({"owner", "admin"})
_OWNERS: frozenset[Role] = frozenset({"owner"})


@dataclass(frozen=True)
class Grant:
    """Who holds a permission: the roles, and the scope an API key needs (``None``: the console only)."""

    roles: frozenset[Role]
    scope: Scope | None


PERMISSIONS: dict[str, Grant] = {
    "workspace:read": Grant(_ALL, "read"),
    "workspace:write": Grant(_ADMINS, "admin"),
    "members:read": Grant(_ADMINS, "admin"),
    "members:write": Grant(_ADMINS, "admin"),
    "invitations:read": Grant(_ADMINS, "admin"),
    "invitations:write": Grant(_ADMINS, "admin"),
    "keys:read": Grant(_ADMINS, "admin"),
    "keys:write": Grant(_ADMINS, "admin"),
    "audit:read": Grant(_ADMINS, "admin"),
    "audit:export": Grant(_OWNERS, "admin"),
    "forms:read": Grant(_ALL, "read"),
    "forms:write": Grant(_EDITORS, "write"),
    "leads:read": Grant(_ALL, "read"),
    "leads:write": Grant(_EDITORS, "write"),
    "privacy:export": Grant(_ADMINS, "admin"),
    "privacy:erase": Grant(_ADMINS, "admin"),
    "sources:read": Grant(_ALL, "read"),
    "sources:write": Grant(_EDITORS, "write"),
    "endpoints:read": Grant(_ALL, "read"),
    "endpoints:write": Grant(_EDITORS, "write"),
    "deliveries:read": Grant(_ALL, "read"),
    "deliveries:write": Grant(_EDITORS, "write"),
    "account": Grant(_ALL, None),
}
"""Every permission a route may declare. ``account`` is a member's own password, second factors and sessions, in the
console. Only owners invite owners (``workspaces.invitations``), as only owners make them."""

_FORMS_API = frozenset({"forms:read", "forms:write"})
_ROLE_SCOPES: dict[str, frozenset[Scope]] = {
    "owner": frozenset(KEY_SCOPES),
    "admin": frozenset(KEY_SCOPES),
    "editor": frozenset({"read", "write", "submit"}),
    "viewer": frozenset({"read"}),
}


def role_allows(role: str, permission: str) -> bool:
    """Whether ``role`` holds ``permission``; an unknown permission or role holds nothing."""
    grant = PERMISSIONS.get(permission)
    return grant is not None and role in grant.roles


def key_allows(*, role: str, scopes: frozenset[str], forms_only: bool, permission: str) -> bool:
    """Whether an API key may use ``permission``: its creator's role holds it, the key carries its scope, and a key
    limited to the forms API asks for a forms permission."""
    grant = PERMISSIONS.get(permission)
    if grant is None or grant.scope is None or grant.scope not in scopes:
        return False
    if forms_only and permission not in _FORMS_API:
        return False
    return role in grant.roles


def scopes_of_role(role: str) -> frozenset[Scope]:
    """The scopes a key made by a member of ``role`` may carry: none that their role could never use."""
    return _ROLE_SCOPES.get(role, frozenset())
