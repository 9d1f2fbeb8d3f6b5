"""The raw payloads kept of each source are personal data: exported with the person, erased with them, and deleted
after the workspace's retention periods. Google Ads lead form webhooks (``WebhookLead`` of Google's
"Implementation" page) carry them here."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from core.database import utcnow
from leads.models import SourcePayload
from privacy.retention import purge
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, create_form, serve
from tests.ingest.senders import add_source as source_of
from tests.ingest.senders import hook_path as hook
from tests.ingest.test_source_activity import GOOGLE_KEY, google, payloads, settled

if TYPE_CHECKING:
    import httpx

    from core.database import Database
    from tests.conftest import Tenant

VICTIM = "zoe-9f3@example.com"
VICTIM_PHONE = "+44 20 7946 0123"
OTHER = "omar@example.com"


def _with_phone(body: dict[str, Any], phone: str) -> dict[str, Any]:
    columns = [c for c in body["user_column_data"] if c["column_id"] != "PHONE_NUMBER"]
    return {**body, "user_column_data": [*columns, {"string_value": phone, "column_id": "PHONE_NUMBER"}]}


async def _payloads_of_three_people(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    """A Google Ads source that took the victim's lead, refused a forged post with their address, refused one with
    only their phone, and took someone else's lead."""
    form = await create_form(client, tenant)
    source = await source_of(client, tenant, form, kind="google_ads", google_key=GOOGLE_KEY)
    posts = [
        google("g-1", email=VICTIM),
        google("g-2", email=VICTIM.upper(), key="forged-key-0000"),  # refused, but it carries their address
        _with_phone(google("g-3", email="x", key="forged-key-0000"), VICTIM_PHONE),  # refused, their phone only
        google("g-4", email=OTHER),
    ]
    for body in posts:
        await client.post(hook(source), json=body)
    await settled(client, tenant, source, received=4)
    return source


async def _stored_ids(db: Database, source: dict[str, Any]) -> list[str]:
    async with db.session(write=False) as session:
        rows = await session.scalars(
            select(SourcePayload.id).where(SourcePayload.source_id == source["id"]).order_by(SourcePayload.id)
        )
        return list(rows)


async def test_the_export_of_a_person_holds_the_payloads_that_carried_them(database_url: str, tenant: Tenant) -> None:
    async with serve(make_settings(database_url, **INGEST)) as client:
        await _payloads_of_three_people(client, tenant)
        by_email = await client.get("/api/v1/privacy/export", params={"email": VICTIM}, headers=tenant.headers)
        by_phone = await client.get("/api/v1/privacy/export", params={"phone": VICTIM_PHONE}, headers=tenant.headers)

    exported = by_email.json()["source_payloads"]
    assert sorted((p["body"]["lead_id"], p["outcome"]) for p in exported) == [
        ("g-1", "accepted"),
        ("g-2", "rejected"),
    ]
    assert all(p["body"]["google_key"] == "[redacted]" for p in exported)
    assert GOOGLE_KEY not in by_email.text
    assert exported[0]["source_id"].startswith("src_")
    # By phone: the refused post that carried only that phone, found by the keyed hash of its E.164 form.
    assert {p["body"]["lead_id"] for p in by_phone.json()["source_payloads"]} == {"g-3"}


async def test_erasing_a_person_deletes_their_payloads_accepted_and_refused(
    database_url: str, tenant: Tenant, db: Database
) -> None:
    async with serve(make_settings(database_url, **INGEST)) as client:
        source = await _payloads_of_three_people(client, tenant)
        before = await payloads(client, tenant, source)
        erased = await client.post("/api/v1/privacy/erase", json={"email": VICTIM}, headers=tenant.headers)
        after_email = await payloads(client, tenant, source)
        await client.post("/api/v1/privacy/erase", json={"phone": VICTIM_PHONE}, headers=tenant.headers)
        after_phone = await payloads(client, tenant, source)

    assert erased.status_code == 200
    assert [p["body"]["lead_id"] for p in before] == ["g-4", "g-3", "g-2", "g-1"]
    assert [p["body"]["lead_id"] for p in after_email] == ["g-4", "g-3"]
    assert [p["body"]["lead_id"] for p in after_phone] == ["g-4"]
    assert len(await _stored_ids(db, source)) == 1


async def test_the_retention_purge_deletes_old_payloads(database_url: str, tenant: Tenant, db: Database) -> None:
    async with serve(make_settings(database_url, **INGEST)) as client:
        source = await _payloads_of_three_people(client, tenant)
        changed = await client.patch(
            "/api/v1/workspace",
            json={"settings": {"retain_spam_days": 10, "retain_submissions_days": 100}},
            headers=tenant.headers,
        )
        assert changed.status_code == 200, changed.text
        by_lead = {p["body"]["lead_id"]: p["id"] for p in await payloads(client, tenant, source)}
    ages = {"g-1": 11, "g-2": 11, "g-3": 9, "g-4": 101}  # days
    async with db.session(write=True) as session:
        for lead_id, days in ages.items():
            await session.execute(
                update(SourcePayload)
                .where(SourcePayload.id == by_lead[lead_id])
                .values(received_at=utcnow() - timedelta(days=days))
            )

    report = await purge(db)
    again = await purge(db)

    # Refused payloads (never a lead) go with spam, after 10 days; a lead's payload goes with submissions, after 100.
    remaining = set(await _stored_ids(db, source))
    assert remaining == {by_lead["g-1"], by_lead["g-3"]}
    assert report.source_payloads_deleted == 2
    assert again.source_payloads_deleted == 0
