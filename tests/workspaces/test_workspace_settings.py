"""Workspace settings: the controller's contact and the retention periods, read and changed over the admin API."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import update

from workspaces import service
from workspaces.models import Workspace
from workspaces.schemas import WorkspaceSettings

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Client, Tenant

DEFAULTS = {
    "contact_email": None,
    "privacy_policy_url": None,
    "retain_spam_days": 30,
    "retain_attempt_bodies_days": 30,
    "retain_submissions_days": None,
    "require_mfa": False,
}


async def _patch(client: Client, tenant: Tenant, body: dict[str, Any]) -> Any:
    return await client.patch("/api/v1/workspace", json=body, headers=tenant.headers)


async def test_a_new_workspace_has_the_default_settings(client: Client, tenant: Tenant) -> None:
    response = await client.get("/api/v1/workspace", headers=tenant.headers)
    assert response.status_code == 200
    assert response.json()["settings"] == DEFAULTS


async def test_settings_change_key_by_key_and_null_clears_the_optional_ones(client: Client, tenant: Tenant) -> None:
    first = await _patch(
        client,
        tenant,
        {"settings": {"contact_email": "privacy@Acme.EXAMPLE", "retain_spam_days": 7, "retain_submissions_days": 365}},
    )
    assert first.status_code == 200, first.text
    assert first.json()["settings"] == {
        **DEFAULTS,
        "contact_email": "privacy@acme.example",  # the domain is normalised, as email-validator does
        "retain_spam_days": 7,
        "retain_submissions_days": 365,
    }

    second = await _patch(
        client, tenant, {"name": "Acme Ltd", "settings": {"privacy_policy_url": "https://acme.example/privacy"}}
    )
    assert second.status_code == 200, second.text
    assert second.json()["name"] == "Acme Ltd"
    assert second.json()["settings"]["retain_spam_days"] == 7  # untouched keys keep their values
    assert second.json()["settings"]["privacy_policy_url"] == "https://acme.example/privacy"

    cleared = await _patch(client, tenant, {"settings": {"contact_email": None, "retain_submissions_days": None}})
    assert cleared.status_code == 200, cleared.text
    fetched = (await client.get("/api/v1/workspace", headers=tenant.headers)).json()
    assert fetched["settings"] == {
        **DEFAULTS,
        "privacy_policy_url": "https://acme.example/privacy",
        "retain_spam_days": 7,
    }
    assert fetched["name"] == "Acme Ltd"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"settings": {"contact_email": "not an email"}}, "settings.contact_email"),
        ({"settings": {"contact_email": "asha@"}}, "settings.contact_email"),
        ({"settings": {"contact_email": "asha@example..com"}}, "settings.contact_email"),
        ({"settings": {"contact_email": "a" * 250 + "@example.com"}}, "settings.contact_email"),
        ({"settings": {"privacy_policy_url": "ftp://acme.example/privacy"}}, "settings.privacy_policy_url"),
        ({"settings": {"privacy_policy_url": "javascript:alert(1)"}}, "settings.privacy_policy_url"),
        ({"settings": {"privacy_policy_url": "https://"}}, "settings.privacy_policy_url"),
        ({"settings": {"privacy_policy_url": "https://[::1/privacy"}}, "settings.privacy_policy_url"),
        ({"settings": {"retain_spam_days": 0}}, "settings.retain_spam_days"),
        ({"settings": {"retain_spam_days": 3651}}, "settings.retain_spam_days"),
        ({"settings": {"retain_spam_days": None}}, "settings.retain_spam_days"),
        ({"settings": {"retain_spam_days": "thirty"}}, "settings.retain_spam_days"),
        ({"settings": {"retain_spam_days": 7.5}}, "settings.retain_spam_days"),
        ({"settings": {"retain_attempt_bodies_days": 0}}, "settings.retain_attempt_bodies_days"),
        ({"settings": {"retain_submissions_days": 0}}, "settings.retain_submissions_days"),
        ({"settings": {"retain_submissions_days": 36501}}, "settings.retain_submissions_days"),
        ({"settings": {"retain_forever": True}}, "settings"),  # once a 500: see tests/forms for the cause
        ({"plan": "enterprise"}, "body"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
    ],
)
async def test_invalid_settings_are_422_problems_naming_the_field(
    client: Client, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await _patch(client, tenant, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    fields = [error["field"] for error in response.json()["errors"]]
    assert any(f == field or f.startswith(f"{field}.") for f in fields), fields
    after = (await client.get("/api/v1/workspace", headers=tenant.headers)).json()
    assert after["settings"] == DEFAULTS
    assert after["name"] == "Acme"


async def test_a_change_is_audited_with_the_keys_and_retention_values_but_not_the_contact(
    client: Client, tenant: Tenant
) -> None:
    response = await _patch(
        client, tenant, {"name": "Acme Ltd", "settings": {"contact_email": "dpo@acme.example", "retain_spam_days": 3}}
    )
    assert response.status_code == 200, response.text
    events = (await client.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]
    event = events[0]
    assert event["action"] == "workspace.updated"
    assert event["target_id"] == tenant.workspace_id
    assert event["actor"].startswith("api_key:key_")
    assert event["details"] == {
        "changed": ["name", "settings.contact_email", "settings.retain_spam_days"],
        "retention": {"retain_spam_days": 3},
    }
    assert "dpo@acme.example" not in str(events)


async def test_a_patch_that_changes_nothing_writes_no_audit_event(client: Client, tenant: Tenant) -> None:
    before = (await client.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]
    response = await _patch(client, tenant, {"name": "Acme", "settings": {"retain_spam_days": 30}})
    assert response.status_code == 200
    after = (await client.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]
    assert after == before


async def test_another_workspace_is_unaffected(client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    response = await _patch(client, tenant, {"name": "Renamed", "settings": {"retain_attempt_bodies_days": 2}})
    assert response.status_code == 200
    theirs = (await client.get("/api/v1/workspace", headers=other_tenant.headers)).json()
    assert theirs["name"] == "Globex"
    assert theirs["settings"] == DEFAULTS
    their_events = (await client.get("/api/v1/audit-events", headers=other_tenant.headers)).json()["items"]
    assert "workspace.updated" not in {event["action"] for event in their_events}


async def test_changing_settings_needs_an_api_key(client: Client, tenant: Tenant) -> None:
    response = await client.patch("/api/v1/workspace", json={"name": "Mine now"})
    assert response.status_code == 401
    assert (await client.get("/api/v1/workspace", headers=tenant.headers)).json()["name"] == "Acme"


async def test_settings_for_the_purge_fill_defaults_and_leave_out_unreadable_ones(
    db: Database, tenant: Tenant, other_tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    async with db.session(write=True) as session:
        await session.execute(
            update(Workspace).where(Workspace.id == tenant.workspace_id).values(settings={"retain_spam_days": 5})
        )
        await session.execute(
            update(Workspace).where(Workspace.id == other_tenant.workspace_id).values(settings={"retain_spam_days": 0})
        )
    with caplog.at_level(logging.WARNING, logger="leadwire.workspaces"):
        async with db.session(write=False) as session:
            found = await service.workspace_settings(session)
            only = await service.workspace_settings(session, [tenant.workspace_id])
            workspace = await service.get_workspace(session, tenant.workspace_id)
    assert found == {tenant.workspace_id: WorkspaceSettings(retain_spam_days=5)}
    assert only == found
    assert service.settings_of(workspace) == WorkspaceSettings(retain_spam_days=5)
    assert other_tenant.workspace_id in caplog.text
