"""Export and erasure of a person over the admin API: everything found, then nothing left, not even on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import String, cast, func, select
from sqlalchemy.engine import make_url

from core.database import Base
from tests.ingest.conftest import add_endpoint, browser_post, create_form, valid, verified_event

if TYPE_CHECKING:
    from core.database import Database
    from core.settings import Settings
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver


async def test_an_export_holds_everything_about_the_person(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)
    await app_client.post(f"/f/{form['slug']}", json=valid())
    await app_client.post(f"/f/{form['slug']}", json=valid(email="other@example.com"))

    export = await app_client.get(
        "/api/v1/privacy/export", params={"email": "ASHA@example.com"}, headers=tenant.headers
    )
    neither = await app_client.get("/api/v1/privacy/export", headers=tenant.headers)

    body = export.json()
    assert [lead["email"] for lead in body["leads"]] == ["asha@example.com"]
    assert len(body["submissions"]) == 1
    assert {e["purpose"] for e in body["consent_events"]} == {"sales_contact", "marketing"}
    assert neither.status_code == 422


async def test_an_erased_person_is_gone_from_the_database_while_the_audit_log_keeps_the_fact(
    app_client: Client, tenant: Tenant, receiver: Receiver, ingest_settings: Settings, db: Database, database_url: str
) -> None:
    secret = "zq7-erase-me@example.com"
    form = await create_form(app_client, tenant)
    endpoint = await add_endpoint(app_client, tenant, receiver.url)
    await browser_post(
        app_client, form, ingest_settings, email=secret, name="Zed Quill", _page_url=f"https://x.example/?e={secret}"
    )
    await app_client.post(f"/f/{form['slug']}", json=valid(email=secret.upper(), team_size="51+"))
    await receiver.wait_for(2)
    lead_id = (await app_client.get("/api/v1/leads", params={"email": secret}, headers=tenant.headers)).json()["items"][
        0
    ]["id"]

    erased = await app_client.post("/api/v1/privacy/erase", json={"email": secret}, headers=tenant.headers)
    await receiver.wait_for(3)

    assert erased.status_code == 200
    assert erased.json() == {"erased_leads": [lead_id]}
    event = verified_event(endpoint, receiver, 2)
    assert event["type"] == "lead.erased"
    assert secret not in str(event)
    assert "Zed" not in str(event)
    export = await app_client.get("/api/v1/privacy/export", params={"email": secret}, headers=tenant.headers)
    assert export.json() == {"leads": [], "submissions": [], "consent_events": [], "source_payloads": []}
    tombstone = (await app_client.get(f"/api/v1/leads/{lead_id}", headers=tenant.headers)).json()
    assert tombstone["lead"]["email"] is None
    assert {e["purpose"] for e in tombstone["consent_events"]} == {"sales_contact", "marketing"}  # facts kept
    submissions = (await app_client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"]
    assert [(s["fields"], s["user_agent"], s["client_ip"], s["page_url"]) for s in submissions] == [
        ({}, None, None, None)
    ] * 2
    audit = (await app_client.get("/api/v1/audit-events", headers=tenant.headers)).json()["items"]
    assert any(a["action"] == "lead.erased" and a["target_id"] == lead_id for a in audit)
    assert secret not in str(audit)
    deliveries = (await app_client.get("/api/v1/deliveries", headers=tenant.headers)).json()["items"]
    for delivery in deliveries:
        detail = (await app_client.get(f"/api/v1/deliveries/{delivery['id']}", headers=tenant.headers)).text
        assert secret not in detail.lower()
        assert "zed quill" not in detail.lower()
    await _nowhere_in_the_database(db, database_url, [secret, "Zed Quill"])


async def _nowhere_in_the_database(db: Database, database_url: str, needles: list[str]) -> None:
    """No column of any table holds the needles, and on SQLite not even the bytes of the file do."""
    async with db.session(write=False) as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                found = await session.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(
                        func.lower(cast(column, String)).contains(needles[0].lower())
                        | func.lower(cast(column, String)).contains(needles[1].lower())
                    )
                )
                assert found == 0, f"{table.name}.{column.name}"
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        await db.dispose()
        for path in (Path(url.database), Path(url.database + "-wal")):
            if await asyncio.to_thread(path.exists):
                data = (await asyncio.to_thread(path.read_bytes)).lower()
                for needle in needles:
                    assert needle.lower().encode() not in data, f"{needle} is still in {path.name}"


async def test_a_blank_identity_matches_nobody(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant, fields=[{"name": "rating", "type": "number"}], consents=[])
    await app_client.post(f"/f/{form['slug']}", json={"rating": 5})  # a lead with neither email nor phone

    for body in ({"email": ""}, {"phone": ""}, {"email": "   "}, {}):
        erased = await app_client.post("/api/v1/privacy/erase", json=body, headers=tenant.headers)
        assert erased.status_code == 422, body
    exported = await app_client.get("/api/v1/privacy/export", params={"email": ""}, headers=tenant.headers)

    assert exported.status_code == 422
    assert len((await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"]) == 1


async def test_spam_carrying_the_persons_address_is_exported_and_erased_too(
    app_client: Client, tenant: Tenant, db: Database, database_url: str
) -> None:
    secret = "spam-victim-93@example.com"
    form = await create_form(app_client, tenant)
    await app_client.post(f"/f/{form['slug']}", json=valid(email=secret, name="Vic Tim", _hp="bot"))

    exported = await app_client.get("/api/v1/privacy/export", params={"email": secret}, headers=tenant.headers)
    erased = await app_client.post("/api/v1/privacy/erase", json={"email": secret}, headers=tenant.headers)

    assert [s["verdict"] for s in exported.json()["submissions"]] == ["spam"]
    assert erased.json() == {"erased_leads": []}  # no lead, but the spam is personal data all the same
    await _nowhere_in_the_database(db, database_url, [secret, "Vic Tim"])
