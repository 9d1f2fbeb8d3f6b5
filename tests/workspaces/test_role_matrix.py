"""The role matrix, walked over the app's own route table: every API route and console page declares a permission,
and for every role, a forbidden route is 403 and an allowed one is anything but 403. A new route without a permission
fails here."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import AsyncTestClient

from app import create_app
from console.pages import PUBLIC
from tests.conftest import make_settings, owner_password_hash
from tests.ingest.conftest import INGEST
from workspaces import keys, members
from workspaces.roles import PERMISSIONS, ROLES, role_allows
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from core.database import Database
    from tests.conftest import Client, Tenant

_PARAM = re.compile(r"\{(\w+):\w+\}")
_FAKE_ID = "x_00000000000000000000000000"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
# Last, in this order: they end the session the walk runs in.
_ENDS_THE_SESSION = ["/console/sign-out", "/console/sign-out-everywhere"]
_PUBLIC_PAGES = {
    ("GET", "/console/sign-in"),
    ("POST", "/console/sign-in"),
    ("GET", "/console/static/console.js"),
    ("GET", "/console/invitations/{token:str}"),
    ("POST", "/console/invitations/{token:str}"),
    ("GET", "/console/forgot-password"),
    ("POST", "/console/forgot-password"),
    ("GET", "/console/reset-password/{token:str}"),
    ("POST", "/console/reset-password/{token:str}"),
    ("GET", "/console/static/passkeys.js"),
    ("POST", "/console/sign-in/passkey/options"),
    ("POST", "/console/sign-in/passkey"),
}


def _routes(prefix: str) -> list[tuple[str, str, Any]]:
    app = create_app(make_settings("sqlite+aiosqlite:///unused-route-listing.db"))
    found = []
    for route in app.routes:
        if not (route.path == prefix or route.path.startswith(f"{prefix}/")):
            continue
        for method, (handler, *_) in getattr(route, "route_handler_map", {}).items():
            if method not in {"HEAD", "OPTIONS"}:
                found.append((method, route.path, handler.opt.get("permission")))
    return sorted(
        found,
        key=lambda r: (
            r[1] in _ENDS_THE_SESSION,
            _ENDS_THE_SESSION.index(r[1]) if r[1] in _ENDS_THE_SESSION else 0,
            r[1],
            r[0],
        ),
    )


API_ROUTES = _routes("/api/v1")
CONSOLE_ROUTES = _routes("/console")


def test_every_api_route_and_console_page_declares_a_known_permission() -> None:
    assert len(API_ROUTES) >= 40
    assert len(CONSOLE_ROUTES) >= 40
    for method, path, permission in API_ROUTES:
        assert permission in PERMISSIONS, f"{method} {path} declares no known permission: {permission!r}"
        assert PERMISSIONS[permission].scope is not None, f"{method} {path}: {permission} is not for keys"
    for method, path, permission in CONSOLE_ROUTES:
        if (method, path) in _PUBLIC_PAGES:
            assert permission == PUBLIC, (method, path)
        else:
            assert permission in PERMISSIONS, f"{method} {path} declares no known permission: {permission!r}"


# The matrix as the README states it, for the routes where a mistake would hurt most: the least role that may use each.
_LEAST_ROLE = {
    ("GET", "/api/v1/leads"): "viewer",
    ("GET", "/api/v1/deliveries"): "viewer",
    ("POST", "/api/v1/forms"): "editor",
    ("POST", "/api/v1/sources"): "editor",
    ("POST", "/api/v1/endpoints"): "editor",
    ("GET", "/api/v1/privacy/export"): "admin",
    ("POST", "/api/v1/privacy/erase"): "admin",
    ("GET", "/api/v1/members"): "admin",
    ("POST", "/api/v1/members"): "admin",
    ("POST", "/api/v1/invitations"): "admin",
    ("DELETE", "/api/v1/invitations/{invitation_id:str}"): "admin",
    ("POST", "/api/v1/api-keys"): "admin",
    ("PATCH", "/api/v1/workspace"): "admin",
    ("GET", "/api/v1/audit-events/export"): "owner",
    ("GET", "/console/leads/{lead_id:str}/export"): "admin",
    ("POST", "/console/leads/{lead_id:str}/erase"): "admin",
    ("GET", "/console/members"): "admin",
    ("GET", "/console/settings"): "admin",
    ("POST", "/console/forms"): "editor",
    ("GET", "/console/leads"): "viewer",
    ("GET", "/console/settings/audit.csv"): "owner",
}


def test_the_routes_that_matter_most_declare_what_the_readme_promises() -> None:
    declared = {(method, path): permission for method, path, permission in API_ROUTES + CONSOLE_ROUTES}
    for route, least in _LEAST_ROLE.items():
        expected = set(ROLES[: ROLES.index(least) + 1])
        holders = {role for role in ROLES if role_allows(role, declared[route])}
        assert holders == expected, (route, declared[route])


@pytest.fixture
async def quiet_client(database_url: str) -> AsyncIterator[Client]:
    """The app without its worker, so that nothing is delivered while every route is tried."""
    settings = make_settings(database_url, **{**INGEST, "run_worker": "false"})
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        client.follow_redirects = False
        yield client


async def _member_of(db: Database, tenant: Tenant, role: str) -> tuple[str, str]:
    """A member of ``role`` in the tenant's workspace (the tenant's owner for ``owner``), and a key they made with
    every scope their role can use: their email and key."""
    async with db.session(write=True) as session:
        if role == "owner":
            email, member_id = tenant.email, tenant.member_id
        else:
            found, _ = await members.add_member(
                session,
                workspace_id=tenant.workspace_id,
                email=f"{role}@{tenant.workspace_id.replace('_', '-')}.example.com",
                role=role,
                password_hash=owner_password_hash(),
                by=None,
            )
            email, member_id = found.member.email, found.member.id
        creator = Caller(workspace_id=tenant.workspace_id, role=role, member_id=member_id)  # type: ignore[arg-type]
        _, key = await keys.create_api_key(
            session, workspace_id=tenant.workspace_id, name=f"{role}'s key", actor="t", creator=creator
        )
    return email, key


@pytest.mark.parametrize("role", ROLES)
async def test_every_api_route_for_every_role(quiet_client: Client, db: Database, tenant: Tenant, role: str) -> None:
    _, key = await _member_of(db, tenant, role)
    headers = {"Authorization": f"Bearer {key}"}
    wrong: list[str] = []
    for method, path, permission in API_ROUTES:
        url = _PARAM.sub(_FAKE_ID, path)
        response = await quiet_client.request(method, url, headers=headers, json={})
        allowed = role_allows(role, permission)
        if (response.status_code == 403) == allowed:
            wrong.append(f"{method} {path} ({permission}): {response.status_code}")
        if response.status_code == 403:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["type"] == "/problems/forbidden"
    assert wrong == [], f"{role}: {wrong}"


@pytest.mark.parametrize("role", ROLES)
async def test_every_console_page_for_every_role(quiet_client: Client, db: Database, tenant: Tenant, role: str) -> None:
    email, _ = await _member_of(db, tenant, role)
    client = quiet_client
    signed_in = await client.post("/console/sign-in", data={"email": email, "password": tenant.password})
    assert signed_in.status_code == 303
    csrf = _CSRF.search((await client.get("/console/account")).text)
    assert csrf
    wrong: list[str] = []
    for method, path, permission in CONSOLE_ROUTES:
        if (method, path) in _PUBLIC_PAGES:
            continue
        url = _PARAM.sub(_FAKE_ID, path)
        data = {"csrf": csrf.group(1)} if method == "POST" else None
        response = await client.request(method, url, data=data)
        forbidden = response.status_code == 403 and "Your role does not allow this" in response.text
        assert response.status_code != 403 or forbidden, f"{method} {path}: a 403 of another kind"
        if forbidden == role_allows(role, permission):
            wrong.append(f"{method} {path} ({permission}): {response.status_code}")
    assert wrong == [], f"{role}: {wrong}"


async def test_keys_are_held_to_their_scopes_and_to_the_forms_api(client: Client, db: Database, tenant: Tenant) -> None:
    owner = Caller(workspace_id=tenant.workspace_id, role="owner", member_id=tenant.member_id)
    async with db.session(write=True) as session:
        _, reader = await keys.create_api_key(
            session, workspace_id=tenant.workspace_id, name="r", actor="t", creator=owner, scopes=["read"]
        )
        _, forms_only = await keys.create_api_key(
            session, workspace_id=tenant.workspace_id, name="f", actor="t", creator=owner, forms_only=True
        )

    def as_(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    read = await client.get("/api/v1/forms", headers=as_(reader))
    write = await client.post("/api/v1/forms", json={"name": "A"}, headers=as_(reader))
    forms = await client.post("/api/v1/forms", json={"name": "A"}, headers=as_(forms_only))
    leads = await client.get("/api/v1/leads", headers=as_(forms_only))
    members_ = await client.get("/api/v1/members", headers=as_(forms_only))

    assert read.status_code == 200
    assert (write.status_code, "lacks the write scope" in write.json()["detail"]) == (403, True)
    assert forms.status_code == 201
    assert (leads.status_code, "limited to the forms API" in leads.json()["detail"]) == (403, True)
    assert members_.status_code == 403
