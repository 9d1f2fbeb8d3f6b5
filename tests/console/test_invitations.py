"""Invitations: an owner invites by email and role in the Members page; the link is shown once and mailed through a
real SMTP server on 127.0.0.1; following it, a new person chooses a name and password and is signed in. Over the
API: admins cannot invite owners, inviting again replaces the link, an existing account signs in to join, and a
revoked or expired link opens nothing."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from litestar.testing import AsyncTestClient
from sqlalchemy import update

from app import create_app
from core.database import utcnow
from tests.conftest import make_settings, owner_password_hash
from tests.console.test_console import sign_in
from tests.ingest.conftest import INGEST
from tests.mail import link_in
from workspaces import keys, members
from workspaces.models import Invitation
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Tenant
    from tests.mail import Mailbox

_LINK = re.compile(r'id="secret" value="([^"]+)"')


def _client(database_url: str, **extra: str) -> AsyncTestClient:  # type: ignore[type-arg]
    settings = make_settings(database_url, **{**INGEST, "run_worker": "false", **extra})
    client = AsyncTestClient(app=create_app(settings), base_url="http://testserver.local")
    client.follow_redirects = False
    return client


async def test_an_invitation_is_mailed_followed_and_makes_a_signed_in_member(
    database_url: str, tenant: Tenant, mailbox: Mailbox
) -> None:
    smtp = {"smtp_url": mailbox.url, "smtp_from": "Leadwire <team@example.com>"}
    async with _client(database_url, **smtp) as owner:
        csrf = await sign_in(owner, tenant)
        invited = await owner.post(
            "/console/members/invite", data={"csrf": csrf, "email": "Grace@Example.com", "role": "editor"}
        )
        shown = await owner.get(invited.headers["location"])
        again = await owner.get(invited.headers["location"])
        listed = await owner.get("/console/members")
        [message] = await mailbox.wait_for(1)
        match = _LINK.search(shown.text)
        assert match
        link = html.unescape(match.group(1))
        path = urlsplit(link).path
        async with _client(database_url, **smtp) as guest:
            page = await guest.get(path)
            weak = await guest.post(path, data={"name": "Grace Hopper", "password": "password1234"})
            made = await guest.post(path, data={"name": "Grace Hopper", "password": "a lighthouse in the fog"})
            console = await guest.get("/console")
            used = await guest.get(path)
        pending = (await owner.get("/api/v1/invitations", headers=tenant.headers)).json()["items"]
        events = (await owner.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]

    assert invited.status_code == 303
    assert shown.status_code == 200
    assert "shown only this once" in shown.text
    assert again.status_code == 303  # shown once: a reload shows nothing
    assert "grace@example.com" in listed.text
    assert link not in listed.text
    assert link_in(message, "/console/invitations/") == link
    assert (message["To"], message["From"]) == ("grace@example.com", "Leadwire <team@example.com>")
    assert "Acme" in message["Subject"]
    assert mailbox.logins  # the server's password was given, from the URL's percent-encoded user information
    assert page.status_code == 200
    assert "Acme" in page.text
    assert "editor" in page.text
    assert weak.status_code == 422
    assert "one of the most common passwords" in weak.text
    assert (made.status_code, made.headers["location"]) == (303, "/console")
    assert console.status_code == 200
    assert "Grace Hopper" in console.text
    assert used.status_code == 404
    assert "no longer opens anything" in used.text
    assert pending == []
    by_action = {e["action"]: e for e in reversed(events)}  # the newest of each
    assert {"invitation.created", "member.added", "invitation.accepted", "member.signed_in"} <= set(by_action)
    assert by_action["member.added"]["actor"].startswith("invitation:inv_")
    assert by_action["invitation.created"]["actor"] == f"member:{tenant.member_id}"


async def _admin_key(db: Database, tenant: Tenant) -> dict[str, str]:
    async with db.session(write=True) as session:
        admin, _ = await members.add_member(
            session,
            workspace_id=tenant.workspace_id,
            email="admin@example.com",
            role="admin",
            password_hash=owner_password_hash(),
            by=None,
        )
        creator = Caller(workspace_id=tenant.workspace_id, role="admin", member_id=admin.member.id)
        _, key = await keys.create_api_key(
            session, workspace_id=tenant.workspace_id, name="a", actor="t", creator=creator
        )
    return {"Authorization": f"Bearer {key}"}


async def test_invitations_over_the_api_existing_accounts_join_and_revoked_or_expired_links_open_nothing(
    database_url: str, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    admin = await _admin_key(db, tenant)
    async with _client(database_url) as api:
        as_owner = await api.post(
            "/api/v1/invitations", json={"email": other_tenant.email, "role": "owner"}, headers=admin
        )
        first = await api.post(
            "/api/v1/invitations", json={"email": other_tenant.email, "role": "admin"}, headers=admin
        )
        second = await api.post(
            "/api/v1/invitations", json={"email": other_tenant.email.upper(), "role": "viewer"}, headers=admin
        )
        member_already = await api.post(
            "/api/v1/invitations", json={"email": tenant.email, "role": "viewer"}, headers=admin
        )
        listed = (await api.get("/api/v1/invitations", headers=admin)).json()["items"]
        replaced = await api.get(urlsplit(first.json()["link"]).path)
        path = urlsplit(second.json()["link"]).path
        page = await api.get(path)
        wrong = await api.post(path, data={"password": "not the password at all"})
        joined = await api.post(path, data={"password": other_tenant.password})
        console = await api.get("/console")
        roles = {m["email"]: m["role"] for m in (await api.get("/api/v1/members", headers=admin)).json()["items"]}

        revoked = await api.post(
            "/api/v1/invitations", json={"email": "eve@example.com", "role": "viewer"}, headers=admin
        )
        elsewhere = await api.delete(f"/api/v1/invitations/{revoked.json()['id']}", headers=other_tenant.headers)
        revoking = await api.delete(f"/api/v1/invitations/{revoked.json()['id']}", headers=admin)
        twice = await api.delete(f"/api/v1/invitations/{revoked.json()['id']}", headers=admin)
        after_revoking = await api.get(urlsplit(revoked.json()["link"]).path)

        late = await api.post(
            "/api/v1/invitations", json={"email": "late@example.com", "role": "viewer"}, headers=admin
        )
        async with db.session(write=True) as session:
            past = utcnow() - timedelta(seconds=1)
            await session.execute(update(Invitation).where(Invitation.id == late.json()["id"]).values(expires_at=past))
        expired = await api.get(urlsplit(late.json()["link"]).path)

    assert as_owner.status_code == 403
    assert "only an owner can invite an owner" in as_owner.json()["detail"]
    assert (first.status_code, first.json()["mailed"], first.json()["role"]) == (201, False, "admin")
    assert first.json()["link"].startswith("http://testserver.local/console/invitations/")
    assert member_already.status_code == 409
    assert [(i["email"], i["role"]) for i in listed] == [(other_tenant.email, "viewer")]  # inviting again replaced it
    assert "link" not in listed[0]
    assert replaced.status_code == 404
    assert page.status_code == 200
    assert "Sign in to join" in page.text
    assert wrong.status_code == 401
    assert (joined.status_code, joined.headers["location"]) == (303, "/console")
    assert "Acme" in console.text  # the session opened in the workspace they joined
    assert roles[other_tenant.email] == "viewer"
    assert elsewhere.status_code == 404
    assert revoking.status_code == 204
    assert twice.status_code == 404
    assert after_revoking.status_code == 404
    assert expired.status_code == 404
