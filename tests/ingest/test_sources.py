"""Inbound sources, fed by real HTTP clients with each vendor's payload and signature."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from standardwebhooks import Webhook

from leads.models import Submission
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, add_endpoint, create_form, serve
from tests.ingest.senders import add_source as _source
from tests.ingest.senders import fake_graph_api, proof_of
from tests.ingest.senders import hook_path as _hook

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Tenant
    from tests.webhooks import Receiver

SOURCE_SETTINGS = {**INGEST, "source_fetch_retry_schedule": "0.1,0.1,0.1"}


def _signed(
    secret: str, payload: dict[str, Any], message_id: str, when: datetime | None = None
) -> tuple[str, dict[str, str]]:
    body = json.dumps(payload)
    moment = when or datetime.now(UTC)
    signature = Webhook(secret).sign(message_id, moment, body)
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    return body, headers


async def _count(db: Database, **where: Any) -> int:
    async with db.session(write=False) as session:
        statement = select(func.count()).select_from(Submission)
        for name, value in where.items():
            statement = statement.where(getattr(Submission, name) == value)
        return int(await session.scalar(statement) or 0)


async def test_a_standard_webhooks_sender_delivers_one_lead_and_forgeries_are_refused(
    database_url: str, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        endpoint = await add_endpoint(client, tenant, receiver.url)
        source = await _source(client, tenant, form, kind="standard_webhooks", mapping={"full_name": "name"})
        secret = source["secrets"]["whsec"]
        lead = {"data": {"full_name": "Ines Ito", "email": "ines@example.com", "ignored": "x"}}
        body, headers = _signed(secret, lead, "evt_001")

        first = await client.post(_hook(source), content=body, headers=headers)
        replay = await client.post(_hook(source), content=body, headers=headers)
        tampered = await client.post(_hook(source), content=body.replace("Ines", "Eve"), headers=headers)
        stale_body, stale = _signed(secret, lead, "evt_002", datetime.now(UTC) - timedelta(minutes=6))
        too_old = await client.post(_hook(source), content=stale_body, headers=stale)
        unsigned = await client.post(_hook(source), content=body, headers={"content-type": "application/json"})
        huge_body, huge = _signed(secret, {"data": {"email": "a@example.com", "x": "y" * 70_000}}, "evt_003")
        too_big = await client.post(_hook(source), content=huge_body, headers=huge)
        listed = (await client.get("/api/v1/sources", headers=tenant.headers)).json()["items"]
        challenge = await client.get(_hook(source))  # only Meta checks a subscription with GET
        await receiver.wait_for(1)
        await asyncio.sleep(0.3)

    # 200, not 201: senders (Google's "send test data", portals that switch a failing listener off) want 200.
    assert first.status_code == 200, first.text
    assert replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    assert first.json() == {
        "received": 1,
        "leads": [{"submission_id": first.json()["leads"][0]["submission_id"], "duplicate": False}],
    }
    for refused in (tampered, too_old, unsigned):
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert too_big.status_code == 413
    assert challenge.status_code == 405
    assert challenge.headers["allow"] == "POST"
    assert challenge.headers["content-type"].startswith("application/problem+json")
    assert "secrets" not in listed[0]
    assert await _count(db) == 1
    assert len(receiver.requests) == 1
    headers_in, body_in = receiver.requests[0]
    event = Webhook(endpoint["secret"]).verify(body_in, headers_in)
    assert event["type"] == "lead.created"
    assert event["data"]["submission"]["source"] == "standard_webhooks"
    assert event["data"]["submission"]["fields"] == {
        "name": "Ines Ito",
        "email": "ines@example.com",
        "newsletter": False,
    }
    assert [(c["purpose"], c["state"]) for c in event["data"]["consent"]] == [
        ("sales_contact", "given"),
        ("marketing", "refused"),
    ]


def _google(key: str, lead_id: str, *, is_test: bool = False) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "api_version": "1.0",
        "form_id": 123,
        "campaign_id": 456,
        "google_key": key,
        "is_test": is_test,
        "gcl_id": "gcl-1",
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "Gita Rao", "column_id": "FULL_NAME"},
            {"column_name": "User Email", "string_value": "gita@example.com", "column_id": "EMAIL"},
            {"column_name": "User Phone", "string_value": "+44 20 7946 0958", "column_id": "PHONE_NUMBER"},
        ],
    }


async def test_google_ads_leads_are_checked_by_key_and_test_leads_are_kept_apart(
    database_url: str, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        endpoint = await add_endpoint(client, tenant, receiver.url)
        source = await _source(client, tenant, form, kind="google_ads", google_key="k3y-from-google-ads")

        real = await client.post(_hook(source), json=_google("k3y-from-google-ads", "lead-1"))
        again = await client.post(_hook(source), json=_google("k3y-from-google-ads", "lead-1"))
        test = await client.post(_hook(source), json=_google("k3y-from-google-ads", "lead-2", is_test=True))
        wrong = await client.post(_hook(source), json=_google("not-the-key", "lead-3"))
        await receiver.wait_for(1)
        await asyncio.sleep(0.3)

    assert (real.status_code, again.status_code, test.status_code) == (200, 200, 200)
    assert wrong.status_code == 401
    assert await _count(db, verdict="accepted") == 1
    assert await _count(db, verdict="test") == 1
    assert len(receiver.requests) == 1
    event = Webhook(endpoint["secret"]).verify(receiver.requests[0][1], receiver.requests[0][0])
    assert event["data"]["submission"]["source"] == "google_ads"
    assert event["data"]["lead"]["phone"] == "+442079460958"
    assert event["data"]["submission"]["utm"] == {"gclid": "gcl-1"}


async def test_meta_leads_are_acknowledged_at_once_and_fetched_through_graph_failures(
    database_url: str, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    async with fake_graph_api("app-secret-123", failures=2) as graph:
        settings = make_settings(database_url, **SOURCE_SETTINGS, meta_graph_base_url=graph.base)
        async with serve(settings) as client:
            form = await create_form(client, tenant)
            endpoint = await add_endpoint(client, tenant, receiver.url)
            source = await _source(
                client,
                tenant,
                form,
                kind="meta_lead_ads",
                mapping={"full_name": "name"},
                meta_app_secret="app-secret-123",
                meta_page_access_token="page-token-456",
                meta_verify_token="verify-me-789",
            )
            check = {"hub.mode": "subscribe", "hub.verify_token": "verify-me-789", "hub.challenge": "1158201444"}
            challenge = await client.get(_hook(source), params=check)
            refused = await client.get(_hook(source), params={**check, "hub.verify_token": "guess"})
            payload = {
                "object": "page",
                "entry": [{"id": "p1", "time": 1, "changes": [{"field": "leadgen", "value": {"leadgen_id": "444"}}]}],
            }
            body = json.dumps(payload).encode()
            signature = "sha256=" + hmac.new(b"app-secret-123", body, hashlib.sha256).hexdigest()
            headers = {"content-type": "application/json", "x-hub-signature-256": signature}
            accepted = await client.post(_hook(source), content=body, headers=headers)
            resent = await client.post(_hook(source), content=body, headers=headers)
            forged = await client.post(
                _hook(source), content=body, headers={**headers, "x-hub-signature-256": "sha256=00"}
            )
            await receiver.wait_for(1, seconds=30)
            await asyncio.sleep(0.3)

    assert challenge.status_code == 200
    assert challenge.text == "1158201444"
    assert refused.status_code == 403
    assert accepted.status_code == resent.status_code == 200
    assert forged.status_code == 401
    # Every call proves the app secret (Meta refuses calls without it when the app requires it): two failures,
    # then the lead.
    assert graph.seen == [("page-token-456", proof_of("page-token-456", "app-secret-123"))] * 3
    assert len(receiver.requests) == 1
    event = Webhook(endpoint["secret"]).verify(receiver.requests[0][1], receiver.requests[0][0])
    assert event["type"] == "lead.created"
    assert event["data"]["submission"]["source"] == "meta_lead_ads"
    assert event["data"]["lead"]["email"] == "mei@example.com"
    assert await _count(db) == 1


async def test_the_sources_api_checks_purposes_credentials_and_workspaces(
    database_url: str, tenant: Tenant, other_tenant: Tenant
) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        bad_purpose = await client.post(
            "/api/v1/sources",
            json={"kind": "google_ads", "form_id": form["id"], "consent_purposes": ["lottery"]},
            headers=tenant.headers,
        )
        no_secret = await client.post(
            "/api/v1/sources", json={"kind": "meta_lead_ads", "form_id": form["id"]}, headers=tenant.headers
        )
        source = await _source(client, tenant, form, kind="google_ads")
        theirs = await client.get(f"/api/v1/sources/{source['id']}", headers=other_tenant.headers)
        renamed = await client.patch(f"/api/v1/sources/{source['id']}", json={"name": "Ads"}, headers=tenant.headers)
        removed = await client.delete(f"/api/v1/sources/{source['id']}", headers=tenant.headers)
        gone = await client.post(_hook(source), json=_google(source["secrets"]["google_key"], "x"))

    assert bad_purpose.status_code == no_secret.status_code == 422
    assert theirs.status_code == 404
    assert renamed.json()["name"] == "Ads"
    assert removed.status_code == 204
    assert gone.status_code == 404


async def test_odd_but_signed_payloads_are_4xx_never_500(database_url: str, tenant: Tenant) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        meta = await _source(
            client, tenant, form, kind="meta_lead_ads", meta_app_secret="s" * 12, meta_page_access_token="t" * 12
        )
        standard = await _source(client, tenant, form, kind="standard_webhooks")
        answers = []
        for raw in (b"[1, 2]", b'{"entry": [{"changes": [1, "x", null]}]}', b"not json", b'{"entry": "x"}'):
            signature = "sha256=" + hmac.new(b"s" * 12, raw, hashlib.sha256).hexdigest()
            answers.append(
                (await client.post(_hook(meta), content=raw, headers={"x-hub-signature-256": signature})).status_code
            )
        body, headers = _signed(standard["secrets"]["whsec"], {"data": [1, 2]}, "evt_odd")
        answers.append((await client.post(_hook(standard), content=body, headers=headers)).status_code)
        body, headers = _signed(standard["secrets"]["whsec"], {"data": {"email": {"nested": True}}}, "evt_odd2")
        answers.append((await client.post(_hook(standard), content=body, headers=headers)).status_code)

    assert answers == [200, 200, 400, 200, 400, 422]


async def test_a_public_idempotency_key_cannot_take_a_sources_lead(
    database_url: str, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        source = await _source(client, tenant, form, kind="google_ads", google_key="k3y-from-google-ads")
        public = {"name": "Squatter", "email": "squat@example.com", "consent": ["sales_contact"]}
        # The key Google's lead 900002 is stored under, sent first by anyone, as a header and as a field.
        squat = await client.post(f"/f/{form['slug']}", json=public, headers={"Idempotency-Key": "google_ads:900002"})
        field = await client.post(
            f"/f/{form['slug']}",
            json={**public, "email": "squat2@example.com", "_idempotency_key": "google_ads:900003"},
        )
        google = await client.post(_hook(source), json=_google("k3y-from-google-ads", "900002"))
        google_again = await client.post(_hook(source), json=_google("k3y-from-google-ads", "900003"))
        retry = await client.post(f"/f/{form['slug']}", json=public, headers={"Idempotency-Key": "google_ads:900002"})

    assert squat.status_code == field.status_code == 201
    assert google.status_code == google_again.status_code == 200, google.text
    assert retry.status_code == 201
    assert retry.json() == squat.json()  # the public key still works for its own client
    assert await _count(db, source_id=source["id"]) == 2  # both of Google's leads are stored
    assert await _count(db, source_id=source["id"], verdict="accepted") == 1  # 900003 repeats 900002's content
    assert await _count(db, verdict="accepted") == 3
