"""API keys: shown once, stored hashed, revocable; the Bearer guard in front of every admin route."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from core.errors import Conflict
from workspaces import keys as workspaces
from workspaces.models import ApiKey

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Client, Tenant


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer lw_short", "Bearer " + "lw_" + "0" * 48, "lw_abc"],
)
async def test_missing_or_malformed_keys_are_401_problems(client: Client, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.get("/api/v1/forms", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


async def test_the_guard_runs_before_the_body_is_read(client: Client) -> None:
    response = await client.post("/api/v1/forms", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 401


async def test_workspace_endpoint_names_the_callers_workspace(client: Client, tenant: Tenant) -> None:
    response = await client.get("/api/v1/workspace", headers=tenant.headers)
    assert response.status_code == 200
    assert response.json()["id"] == tenant.workspace_id
    assert response.json()["name"] == "Acme"


async def test_a_new_key_is_shown_once_and_stored_only_as_a_hash(client: Client, tenant: Tenant, db: Database) -> None:
    created = await client.post("/api/v1/api-keys", json={"name": "zapier"}, headers=tenant.headers)
    assert created.status_code == 201
    body = created.json()
    key = body["key"]
    assert key.startswith("lw_")
    assert body["prefix"] == key[:11]

    listing = await client.get("/api/v1/api-keys", headers=tenant.headers)
    assert key not in listing.text
    assert [item["name"] for item in listing.json()["items"]] == ["zapier", "first key"]

    async with db.session(write=False) as session:
        rows = (await session.scalars(select(ApiKey))).all()
    assert all(key not in (row.key_hash, row.lookup) for row in rows)

    response = await client.get("/api/v1/workspace", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200


async def test_a_revoked_key_stops_working_at_once(client: Client, tenant: Tenant) -> None:
    created = (await client.post("/api/v1/api-keys", json={"name": "temp"}, headers=tenant.headers)).json()
    temp_headers = {"Authorization": f"Bearer {created['key']}"}
    assert (await client.get("/api/v1/forms", headers=temp_headers)).status_code == 200

    revoked = await client.delete(f"/api/v1/api-keys/{created['id']}", headers=tenant.headers)
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/forms", headers=temp_headers)).status_code == 401
    keys = (await client.get("/api/v1/api-keys", headers=tenant.headers)).json()["items"]
    assert next(k for k in keys if k["id"] == created["id"])["revoked_at"] is not None


async def test_the_last_live_key_cannot_be_revoked(client: Client, tenant: Tenant) -> None:
    only = (await client.get("/api/v1/api-keys", headers=tenant.headers)).json()["items"][0]
    response = await client.delete(f"/api/v1/api-keys/{only['id']}", headers=tenant.headers)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


async def test_another_workspaces_key_is_not_found(client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = (await client.get("/api/v1/api-keys", headers=other_tenant.headers)).json()["items"][0]
    response = await client.delete(f"/api/v1/api-keys/{theirs['id']}", headers=tenant.headers)
    assert response.status_code == 404
    assert (await client.get("/api/v1/workspace", headers=other_tenant.headers)).status_code == 200


async def test_key_names_are_validated(client: Client, tenant: Tenant) -> None:
    for body in ({"name": ""}, {"name": "   "}, {"name": 3}, {}, {"name": "x", "admin": True}):
        response = await client.post("/api/v1/api-keys", json=body, headers=tenant.headers)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"


async def test_admin_actions_are_audited_without_secrets(client: Client, tenant: Tenant) -> None:
    created = (await client.post("/api/v1/api-keys", json={"name": "ci"}, headers=tenant.headers)).json()
    await client.delete(f"/api/v1/api-keys/{created['id']}", headers=tenant.headers)
    response = await client.get("/api/v1/audit-events", headers=tenant.headers)
    assert response.status_code == 200
    events = response.json()["items"]
    actions = [event["action"] for event in events]
    assert actions[:2] == ["api_key.revoked", "api_key.created"]
    assert "workspace.created" in actions
    assert events[0]["target_id"] == created["id"]
    assert events[0]["actor"].startswith("api_key:key_")
    assert created["key"] not in response.text


async def test_audit_log_is_paged_and_private(client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    for index in range(4):
        await client.post("/api/v1/api-keys", json={"name": f"k{index}"}, headers=tenant.headers)
    first = (await client.get("/api/v1/audit-events?limit=3", headers=tenant.headers)).json()
    assert len(first["items"]) == 3
    second = (
        await client.get(f"/api/v1/audit-events?limit=3&cursor={first['next_cursor']}", headers=tenant.headers)
    ).json()
    ids = [event["id"] for event in first["items"] + second["items"]]
    assert len(ids) == len(set(ids))
    theirs = (await client.get("/api/v1/audit-events", headers=other_tenant.headers)).json()["items"]
    assert {event["target_id"] for event in theirs}.isdisjoint(ids)
    assert (await client.get("/api/v1/audit-events?limit=0", headers=tenant.headers)).status_code in {400, 422}


async def test_two_revokes_at_once_cannot_leave_a_workspace_without_a_live_key(db: Database, tenant: Tenant) -> None:
    async with db.session(write=True) as session:
        spare, _ = await workspaces.create_api_key(session, workspace_id=tenant.workspace_id, name="spare", actor="t")
        first = await session.scalar(select(ApiKey.id).where(ApiKey.name == "first key"))
    assert first

    async def revoke(key_id: str) -> None:
        async with db.session(write=True) as session:
            await workspaces.revoke_api_key(session, workspace_id=tenant.workspace_id, key_id=key_id, actor="t")

    async with db.session(write=True) as session:
        await workspaces.revoke_api_key(session, workspace_id=tenant.workspace_id, key_id=first, actor="t")
        # The other revoke starts while this one has not committed: it must wait for it, then see one live key.
        other = asyncio.create_task(revoke(spare.id))
        await asyncio.sleep(0.3)
        assert not other.done()
    with pytest.raises(Conflict):
        await other
    async with db.session(write=False) as session:
        live = await session.scalars(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)))
        assert list(live) == [spare.id]
