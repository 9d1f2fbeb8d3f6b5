"""Members over the API: adding people with a one-time password, roles only owners can touch, the last owner, other
workspaces' members, keys that never outdo their creator, and the audit log an owner can take away."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from core.database import utcnow
from workspaces import keys
from workspaces.models import ApiKey, Member
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Client, Tenant


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _key_of(db: Database, tenant: Tenant, member_id: str, role: str, **options: object) -> str:
    """A key made by that member, as the console would make it for them."""
    creator = Caller(workspace_id=tenant.workspace_id, role=role, member_id=member_id)  # type: ignore[arg-type]
    async with db.session(write=True) as session:
        _, key = await keys.create_api_key(
            session,
            workspace_id=tenant.workspace_id,
            name="k",
            actor="t",
            creator=creator,
            **options,  # type: ignore[arg-type]
        )
    return key


async def _add(client: Client, tenant: Tenant, email: str, role: str, headers: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    response = await client.post(
        "/api/v1/members", json={"email": email, "role": role}, headers=headers or tenant.headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_new_member_gets_a_one_time_password_that_signs_them_in(client: Client, tenant: Tenant) -> None:
    added = await _add(client, tenant, "Grace@Example.com", "editor")
    listed = (await client.get("/api/v1/members", headers=tenant.headers)).json()["items"]
    client.follow_redirects = False
    signed_in = await client.post(
        "/console/sign-in", data={"email": "grace@example.com", "password": added["one_time_password"]}
    )
    again = await client.post(
        "/api/v1/members", json={"email": "grace@example.com", "role": "viewer"}, headers=tenant.headers
    )

    assert added["member"]["email"] == "grace@example.com"
    assert (added["member"]["role"], added["member"]["name"], added["member"]["mfa"]) == ("editor", "grace", False)
    assert len(added["one_time_password"]) >= 20
    assert [(m["email"], m["role"]) for m in listed] == [(tenant.email, "owner"), ("grace@example.com", "editor")]
    assert "password" not in str(listed)
    assert signed_in.status_code == 303
    assert again.status_code == 409


async def test_an_account_in_another_workspace_joins_without_a_new_password(
    client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    joined = await _add(client, other_tenant, tenant.email, "viewer")
    client.follow_redirects = False
    signed_in = await client.post("/console/sign-in", data={"email": tenant.email, "password": tenant.password})
    account = await client.get("/console/account")

    assert joined["one_time_password"] is None
    assert signed_in.status_code == 303
    assert "Globex (viewer)" in account.text  # the switcher offers the other workspace


async def test_only_owners_touch_ownership_and_the_last_owner_stays(
    client: Client, db: Database, tenant: Tenant
) -> None:
    admin = (await _add(client, tenant, "ada@example.com", "admin"))["member"]
    as_admin = _bearer(await _key_of(db, tenant, admin["id"], "admin"))
    editor = (await _add(client, tenant, "eve@example.com", "editor", as_admin))["member"]
    make_owner = await client.patch(f"/api/v1/members/{editor['id']}", json={"role": "owner"}, headers=as_admin)
    add_owner = await client.post("/api/v1/members", json={"email": "o@example.com", "role": "owner"}, headers=as_admin)
    demote_owner = await client.patch(f"/api/v1/members/{tenant.member_id}", json={"role": "admin"}, headers=as_admin)
    remove_owner = await client.delete(f"/api/v1/members/{tenant.member_id}", headers=as_admin)
    promoted = await client.patch(f"/api/v1/members/{editor['id']}", json={"role": "viewer"}, headers=as_admin)
    last_demoted = await client.patch(
        f"/api/v1/members/{tenant.member_id}", json={"role": "admin"}, headers=tenant.headers
    )
    last_removed = await client.delete(f"/api/v1/members/{tenant.member_id}", headers=tenant.headers)
    second = await client.patch(f"/api/v1/members/{admin['id']}", json={"role": "owner"}, headers=tenant.headers)
    first_steps_down = await client.patch(
        f"/api/v1/members/{tenant.member_id}", json={"role": "admin"}, headers=tenant.headers
    )
    events = (await client.get("/api/v1/audit-events", headers=as_admin)).json()["items"]

    for refused in (make_owner, add_owner, demote_owner, remove_owner):
        assert refused.status_code == 403
        assert refused.json()["type"] == "/problems/forbidden"
    assert (promoted.status_code, promoted.json()["role"]) == (200, "viewer")
    for refused in (last_demoted, last_removed):
        assert refused.status_code == 409
        assert "last owner" in refused.json()["detail"]
    assert (second.status_code, first_steps_down.status_code) == (200, 200)
    changes = [e["details"] for e in events if e["action"] == "member.role_changed"]
    assert {"from": "owner", "to": "admin"} in changes


async def test_another_workspaces_members_are_not_found(client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = other_tenant.member_id
    for response in (
        await client.patch(f"/api/v1/members/{theirs}", json={"role": "viewer"}, headers=tenant.headers),
        await client.delete(f"/api/v1/members/{theirs}", headers=tenant.headers),
    ):
        assert response.status_code == 404
    assert [m["id"] for m in (await client.get("/api/v1/members", headers=tenant.headers)).json()["items"]] == [
        tenant.member_id
    ]


async def test_a_key_never_does_more_than_its_creator_can_now(client: Client, db: Database, tenant: Tenant) -> None:
    admin = (await _add(client, tenant, "ada@example.com", "admin"))["member"]
    key = await _key_of(db, tenant, admin["id"], "admin")
    before = await client.post("/api/v1/forms", json={"name": "A"}, headers=_bearer(key))
    as_admin = _bearer(key)
    too_much = await client.post(
        "/api/v1/api-keys", json={"name": "k", "scopes": ["read", "admin"], "forms_only": True}, headers=as_admin
    )
    await client.patch(f"/api/v1/members/{admin['id']}", json={"role": "viewer"}, headers=tenant.headers)
    demoted_read = await client.get("/api/v1/forms", headers=as_admin)
    demoted_write = await client.post("/api/v1/forms", json={"name": "B"}, headers=as_admin)
    await client.patch(f"/api/v1/members/{admin['id']}", json={"role": "admin"}, headers=tenant.headers)
    restored = await client.post("/api/v1/forms", json={"name": "C"}, headers=as_admin)
    async with db.session(write=True) as session:
        await session.execute(update(Member).where(Member.id == admin["id"]).values(disabled_at=utcnow()))
    disabled = await client.get("/api/v1/forms", headers=as_admin)
    async with db.session(write=True) as session:
        await session.execute(update(Member).where(Member.id == admin["id"]).values(disabled_at=None))
    removed = await client.delete(f"/api/v1/members/{admin['id']}", headers=tenant.headers)
    after_removal = await client.get("/api/v1/forms", headers=as_admin)
    listed = (await client.get("/api/v1/api-keys", headers=tenant.headers)).json()["items"]

    assert before.status_code == 201
    assert too_much.status_code == 201  # within an admin's reach; a viewer's key could not be made so
    assert too_much.json()["created_by"] == admin["id"]
    assert (demoted_read.status_code, demoted_write.status_code) == (200, 403)
    assert "role here (viewer)" in demoted_write.json()["detail"]
    assert restored.status_code == 201
    assert disabled.status_code == 401
    assert removed.status_code == 204
    assert after_removal.status_code == 401
    assert all(k["revoked_at"] for k in listed if k["created_by"] == admin["id"])


async def test_a_key_cannot_be_made_with_more_than_its_maker_may(client: Client, db: Database, tenant: Tenant) -> None:
    owner = _bearer(await _key_of(db, tenant, tenant.member_id, "owner", scopes=["read", "write", "admin"]))
    narrow = _bearer(await _key_of(db, tenant, tenant.member_id, "owner", scopes=["read", "admin"]))
    wide = await client.post("/api/v1/api-keys", json={"name": "w", "scopes": ["write"]}, headers=narrow)
    default = await client.post("/api/v1/api-keys", json={"name": "d"}, headers=narrow)
    service = await client.post("/api/v1/api-keys", json={"name": "s", "kind": "service"}, headers=owner)

    assert wide.status_code == 403
    assert "not write" in wide.json()["detail"]
    assert default.json()["scopes"] == ["read", "admin"]  # by default what the maker has, no more
    assert default.json()["kind"] == "member"
    assert (service.json()["kind"], service.json()["scopes"]) == ("service", ["read", "write", "admin"])


async def test_last_used_is_written_at_most_once_a_minute(client: Client, db: Database, tenant: Tenant) -> None:
    await client.get("/api/v1/forms", headers=tenant.headers)
    async with db.session(write=False) as session:
        first = await session.scalar(select(ApiKey.last_used_at).where(ApiKey.name == "first key"))
    await client.get("/api/v1/forms", headers=tenant.headers)
    async with db.session(write=False) as session:
        second = await session.scalar(select(ApiKey.last_used_at).where(ApiKey.name == "first key"))
    async with db.session(write=True) as session:
        await session.execute(update(ApiKey).values(last_used_at=utcnow() - timedelta(minutes=2)))
    await client.get("/api/v1/forms", headers=tenant.headers)
    async with db.session(write=False) as session:
        third = await session.scalar(select(ApiKey.last_used_at).where(ApiKey.name == "first key"))

    assert first is not None
    assert second == first
    assert third is not None
    assert third > first


async def test_owners_export_the_audit_log_as_csv_and_the_export_is_recorded(
    client: Client, db: Database, tenant: Tenant
) -> None:
    await client.post("/api/v1/forms", json={"name": '=HYPERLINK("http://evil.example")'}, headers=tenant.headers)
    admin = (await _add(client, tenant, "ada@example.com", "admin"))["member"]
    as_admin = _bearer(await _key_of(db, tenant, admin["id"], "admin"))
    exported = await client.get("/api/v1/audit-events/export?format=csv", headers=tenant.headers)
    by_admin = await client.get("/api/v1/audit-events/export", headers=as_admin)
    unknown_format = await client.get("/api/v1/audit-events/export?format=xls", headers=tenant.headers)
    events = (await client.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]

    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    actions = [row["action"] for row in rows]
    assert actions[:2] == ["workspace.created", "api_key.created"]
    assert "member.added" in actions
    assert actions[-1] == "audit.exported"  # recorded before the file was read
    form_row = next(row for row in rows if row["action"] == "form.created")
    assert not form_row["details"].startswith("=")  # a spreadsheet shows it as text
    assert by_admin.status_code == 403
    assert unknown_format.status_code in {400, 422}
    assert events[0]["action"] == "audit.exported"
