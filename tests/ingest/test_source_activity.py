"""What came in through a source: counts by outcome and reason, and the last 50 payloads with what each became.

Senders are real HTTP clients posting the formats of today's kinds: Standard Webhooks v1 (a JSON body signed over
``{id}.{timestamp}.{body}`` with the ``whsec_`` secret), and Google Ads lead form webhooks (the ``WebhookLead`` JSON
of Google's "Implementation" page: ``lead_id``, ``user_column_data`` of ``column_id``/``string_value``,
``google_key``, ``is_test``, ``gcl_id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import func, select, text

from core.encryption import ENVELOPE_KEY
from leads.models import SourcePayload, Submission
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, create_form, serve
from tests.ingest.senders import add_source as source_of
from tests.ingest.senders import hook_path as hook
from tests.ingest.senders import standard_webhook as signed
from tests.webhooks import eventually

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    import pytest

    from core.database import Database
    from tests.conftest import Tenant

GOOGLE_KEY = "k3y-from-google-ads"


def google(lead_id: str, *, key: str = GOOGLE_KEY, email: str = "gita@example.com", **extra: Any) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "api_version": "1.0",
        "form_id": 123,
        "campaign_id": 456,
        "google_key": key,
        "is_test": False,
        "gcl_id": "gcl-1",
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "Gita Rao", "column_id": "FULL_NAME"},
            {"column_name": "User Email", "string_value": email, "column_id": "EMAIL"},
            {"column_name": "User Phone", "string_value": "+44 20 7946 0958", "column_id": "PHONE_NUMBER"},
        ],
        **extra,
    }


async def activity(client: httpx.AsyncClient, tenant: Tenant, source: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(f"/api/v1/sources/{source['id']}/activity", headers=tenant.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def payloads(client: httpx.AsyncClient, tenant: Tenant, source: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/sources/{source['id']}/payloads", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def settled(client: httpx.AsyncClient, tenant: Tenant, source: dict[str, Any], received: int) -> dict[str, Any]:
    """The source's activity once ``received`` requests are counted (recording is batched, a moment after)."""

    async def counted() -> bool:
        found: int = (await activity(client, tenant, source))["received"]
        return found >= received

    await eventually(counted, seconds=10)
    await asyncio.sleep(0.3)  # and nothing more arrives
    return await activity(client, tenant, source)


async def test_counts_follow_what_each_post_became(database_url: str, tenant: Tenant) -> None:
    async with serve(make_settings(database_url, **INGEST)) as client:
        form = await create_form(client, tenant)
        standard = await source_of(client, tenant, form, kind="standard_webhooks", mapping={"full_name": "name"})
        secret = standard["secrets"]["whsec"]
        lead = {"data": {"full_name": "Ines Ito", "email": "ines@example.com"}}
        before = await activity(client, tenant, standard)

        answers = [
            await client.post(hook(standard), content=body, headers=headers)
            for body, headers in (
                signed(secret, lead, "evt_1"),  # accepted
                signed(secret, lead, "evt_1"),  # the sender's retry: a duplicate of the same id
                signed(secret, lead, "evt_2"),  # the same content again: a duplicate of the same person
                signed(secret, {"data": {"full_name": "No Email"}}, "evt_3"),  # invalid: email is required
                signed("whsec_" + "A" * 32, lead, "evt_4"),  # unauthorized
            )
        ]
        counts = await settled(client, tenant, standard, received=5)

    assert [a.status_code for a in answers] == [200, 200, 200, 422, 401]
    assert before["received"] == 0
    assert before["last_lead_at"] is None
    assert {k: counts[k] for k in ("received", "accepted", "duplicate", "test", "rejected")} == {
        "received": 5,
        "accepted": 1,
        "duplicate": 2,
        "test": 0,
        "rejected": 2,
    }
    assert counts["duplicate_by_reason"] == {"same_id": 1, "same_content": 1}
    assert counts["rejected_by_reason"] == {"invalid": 1, "unauthorized": 1}
    assert counts["last_lead_at"] is not None
    assert counts["last_received_at"] >= counts["last_lead_at"]


async def test_each_payload_says_what_it_became_and_keeps_no_secret(
    database_url: str, tenant: Tenant, db: Database
) -> None:
    async with serve(make_settings(database_url, **INGEST)) as client:
        form = await create_form(client, tenant)
        standard = await source_of(client, tenant, form, kind="standard_webhooks", mapping={"full_name": "name"})
        whsec = standard["secrets"]["whsec"]
        lead = {
            "data": {"full_name": "Ines Ito", "email": "ines@example.com"},
            "api_key": "sk-live-4d8f1e2a9b7c",
            "nested": [{"auth": {"password": "hunter2-hunter2"}}, {"note": f"signed with {whsec}"}],
        }
        body, headers = signed(whsec, lead, "evt_1")
        accepted = await client.post(hook(standard) + "?token=tok-5e1f7a&utm_source=ads", content=body, headers=headers)
        forged = await client.post(hook(standard), content=body.replace("Ines", "Eve"), headers=headers)
        google_source = await source_of(client, tenant, form, kind="google_ads", google_key=GOOGLE_KEY)
        wrong_key = await client.post(hook(google_source), json=google("g-1", key="not-the-key-at-all"))
        await settled(client, tenant, standard, received=2)
        await settled(client, tenant, google_source, received=1)
        items = await payloads(client, tenant, standard)
        from_google = await payloads(client, tenant, google_source)
        listing = (await client.get(f"/api/v1/sources/{standard['id']}/payloads", headers=tenant.headers)).text
    async with db.session(write=False) as session:
        stored = " ".join(str(v) for v in (await session.execute(text("SELECT record FROM source_payload"))).scalars())

    assert (accepted.status_code, forged.status_code, wrong_key.status_code) == (200, 401, 401)
    newest, oldest = items
    assert (newest["outcome"], newest["reason"], newest["submission_id"]) == ("rejected", "unauthorized", None)
    assert newest["detail"] == "the signature does not match"
    assert (oldest["outcome"], oldest["reason"]) == ("accepted", None)
    assert oldest["submission_id"].startswith("sub_")
    assert oldest["lead_id"].startswith("lead_")
    assert (oldest["method"], oldest["content_type"], oldest["body_format"]) == ("POST", "application/json", "json")
    assert oldest["query"] == "token=%5Bredacted%5D&utm_source=ads"
    assert oldest["body"]["data"] == {"full_name": "Ines Ito", "email": "ines@example.com"}
    assert oldest["body"]["api_key"] == "[redacted]"
    assert oldest["body"]["nested"] == [{"auth": "[redacted]"}, {"note": "signed with [redacted]"}]
    assert from_google[0]["body"]["google_key"] == "[redacted]"
    assert from_google[0]["body"]["lead_id"] == "g-1"
    for secret in ("sk-live-4d8f1e2a9b7c", "hunter2-hunter2", whsec, whsec.removeprefix("whsec_"), "tok-5e1f7a"):
        assert secret not in listing
    # Encrypted at rest: neither the person nor anything else of the body is readable in the table.
    assert stored.count(ENVELOPE_KEY) == 3
    assert "ines@example.com" not in stored
    assert "Ines Ito" not in stored


async def test_the_51st_payload_drops_the_oldest(database_url: str, tenant: Tenant, db: Database) -> None:
    async with serve(make_settings(database_url, **INGEST)) as client:
        form = await create_form(client, tenant)
        source = await source_of(client, tenant, form, kind="google_ads", google_key=GOOGLE_KEY)
        for n in range(1, 52):
            answer = await client.post(hook(source), json=google(f"g-{n}", email=f"p{n}@example.com"))
            assert answer.status_code == 200, answer.text
            if n == 50:  # the first 50 are written before the 51st arrives
                await settled(client, tenant, source, received=50)
        await settled(client, tenant, source, received=51)
        items = await payloads(client, tenant, source)
    async with db.session(write=False) as session:
        kept = await session.scalar(
            select(func.count()).select_from(SourcePayload).where(SourcePayload.source_id == source["id"])
        )

    assert len(items) == 50
    assert kept == 50
    assert [item["body"]["lead_id"] for item in items] == [f"g-{n}" for n in range(51, 1, -1)]


async def test_fifty_concurrent_posts_to_two_instances_are_counted_exactly(database_url: str, tenant: Tenant) -> None:
    settings = make_settings(database_url, **INGEST)
    async with serve(settings) as first, serve(settings) as second:
        form = await create_form(first, tenant)
        source = await source_of(first, tenant, form, kind="google_ads", google_key=GOOGLE_KEY)
        bodies = [
            *(google(f"g-{n}", email=f"p{n}@example.com") for n in range(40)),
            *(google(f"g-bad-{n}", key="not-the-key-at-all") for n in range(10)),
        ]
        answers = await asyncio.gather(
            *((first if n % 2 else second).post(hook(source), json=body) for n, body in enumerate(bodies))
        )
        counts = await settled(first, tenant, source, received=50)
        seen_by_second = await activity(second, tenant, source)

    assert sorted(a.status_code for a in answers) == [200] * 40 + [401] * 10
    assert (counts["received"], counts["accepted"], counts["duplicate"], counts["rejected"]) == (50, 40, 0, 10)
    assert seen_by_second == counts
    assert counts["rejected_by_reason"] == {"unauthorized": 10}


async def test_a_lead_is_stored_and_answered_when_its_activity_cannot_be_written(
    database_url: str, tenant: Tenant, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(make_settings(database_url, **INGEST)) as client:
        form = await create_form(client, tenant)
        source = await source_of(client, tenant, form, kind="google_ads", google_key=GOOGLE_KEY)
        async with db.session(write=True) as session:
            await session.execute(text("ALTER TABLE source_count RENAME TO source_count_away"))
        try:
            answer = await client.post(hook(source), json=google("g-1"))
            await asyncio.sleep(0.8)  # the activity is written a moment later, and fails
        finally:
            async with db.session(write=True) as session:
                await session.execute(text("ALTER TABLE source_count_away RENAME TO source_count"))
    async with db.session(write=False) as session:
        stored = await session.scalar(select(func.count()).select_from(Submission))

    assert answer.status_code == 200
    assert stored == 1
    # Logged: kept for another try (SQLite: "no such table" is an operational error) or dropped (PostgreSQL).
    assert [r.name for r in caplog.records if "could not record the activity" in r.getMessage()] == ["leadwire.sources"]


async def test_another_workspaces_source_is_not_found(database_url: str, tenant: Tenant, other_tenant: Tenant) -> None:
    async with serve(make_settings(database_url, **INGEST)) as client:
        form = await create_form(client, tenant)
        source = await source_of(client, tenant, form, kind="google_ads")
        answers = [
            await client.get(f"/api/v1/sources/{source_id}/{what}", headers=headers)
            for source_id, headers in ((source["id"], other_tenant.headers), ("src_nope", tenant.headers))
            for what in ("activity", "payloads")
        ]

    assert [a.status_code for a in answers] == [404] * 4
    assert all(a.headers["content-type"].startswith("application/problem+json") for a in answers)


@contextlib.asynccontextmanager
async def graph_api() -> AsyncIterator[str]:
    """A Graph API on 127.0.0.1 answering a lead's ``field_data`` (Meta's "Retrieving leads" format)."""

    async def lead(request: web.Request) -> web.Response:
        email = "mei@example.com" if request.match_info["leadgen_id"] == "444" else "not an email"
        return web.json_response(
            {
                "id": request.match_info["leadgen_id"],
                "created_time": "2026-11-22T01:00:00+0000",
                "field_data": [{"name": "full_name", "values": ["Mei Lin"]}, {"name": "email", "values": [email]}],
            }
        )

    app = web.Application()
    app.router.add_get("/v21.0/{leadgen_id}", lead)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v21.0"
    finally:
        await runner.cleanup()


async def test_meta_leads_are_recorded_as_the_graph_api_answered_them(database_url: str, tenant: Tenant) -> None:
    async with graph_api() as base, serve(make_settings(database_url, **INGEST, meta_graph_base_url=base)) as client:
        form = await create_form(client, tenant)
        source = await source_of(
            client,
            tenant,
            form,
            kind="meta_lead_ads",
            mapping={"full_name": "name"},
            meta_app_secret="app-secret-123",
            meta_page_access_token="page-token-456",
        )
        changes = [{"field": "leadgen", "value": {"leadgen_id": n}} for n in ("444", "555")]
        body = json.dumps({"object": "page", "entry": [{"id": "p1", "time": 1, "changes": changes}]}).encode()
        signature = "sha256=" + hmac.new(b"app-secret-123", body, hashlib.sha256).hexdigest()
        answer = await client.post(hook(source), content=body, headers={"x-hub-signature-256": signature})
        counts = await settled(client, tenant, source, received=2)
        items = await payloads(client, tenant, source)
        listing = (await client.get(f"/api/v1/sources/{source['id']}/payloads", headers=tenant.headers)).text

    assert answer.status_code == 200
    assert (counts["accepted"], counts["rejected_by_reason"]) == (1, {"invalid": 1})
    by_lead = {item["body"]["id"]: item for item in items}
    assert (by_lead["444"]["outcome"], by_lead["444"]["method"], by_lead["444"]["query"]) == ("accepted", "GET", "")
    assert by_lead["444"]["body"]["field_data"][1] == {"name": "email", "values": ["mei@example.com"]}
    assert (by_lead["555"]["outcome"], by_lead["555"]["reason"]) == ("rejected", "invalid")
    assert [p["field"] for p in by_lead["555"]["problems"]] == ["email"]
    assert "page-token-456" not in listing
