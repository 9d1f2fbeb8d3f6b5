"""Every hot statement finds its rows through an index: none reads a large table, or a whole workspace, in full.

The statements are captured as the app really runs them, under a workload that takes every hot path: batches of
new and known people (by email and by phone), idempotency keys and their retries, deliveries that fail and are
retried, receipts, one-click withdrawal, the lead reads of the API, and a source's leads and refusals with its
activity and payloads. Each distinct statement is then explained
on the same database.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from bench.preload import preload_people
from consent.tokens import receipt_token
from delivery.models import Delivery
from forms.demo import DEMO_FORM
from forms.service import create_form as create_form_in
from leads.models import Lead
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, add_endpoint, create_form, serve, valid
from tests.query_plans import Captured, capture_statements, scans_in
from tests.webhooks import eventually

if TYPE_CHECKING:
    import httpx

    from core.database import Database
    from core.settings import Settings
    from tests.conftest import Tenant
    from tests.webhooks import Receiver

PEOPLE = 24
PRELOADED = 3_000
PHONE_FORM_FIELDS: list[dict[str, Any]] = [
    {"name": "name", "type": "text", "required": True, "max_length": 120},
    {"name": "email", "type": "email"},
    {"name": "phone", "type": "phone"},
]


@pytest.fixture
def plan_settings(database_url: str) -> Settings:
    return make_settings(database_url, **INGEST)


def _phone(n: int) -> str:
    return f"+91 98765 {n:05d}"


async def _all(client: httpx.AsyncClient, path: str, bodies: list[dict[str, Any]], **kwargs: Any) -> list[Any]:
    """Post every body at once, so that the writer takes them in batches of several people."""
    answers = await asyncio.gather(*(client.post(path, json=body, **kwargs) for body in bodies))
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers if a.status_code != 201]
    return [a.json() for a in answers]


async def _forms(client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver) -> tuple[dict[str, Any], ...]:
    form = await create_form(client, tenant)
    by_phone = await create_form(client, tenant, name="Call me back", fields=PHONE_FORM_FIELDS)
    await add_endpoint(client, tenant, receiver.url)
    return form, by_phone


async def _workload(
    client: httpx.AsyncClient, tenant: Tenant, forms: tuple[dict[str, Any], ...], receiver: Receiver, settings: Settings
) -> None:
    """Every hot path at least once, with batches of several people."""
    form, by_phone = forms
    receiver.answer(500, 503)  # the first deliveries fail and are retried
    post, call = f"/f/{form['slug']}", f"/f/{by_phone['slug']}"
    people = [valid(name=f"Person {n}", email=f"person{n}@example.com") for n in range(PEOPLE)]
    first = await _all(client, post, people)
    await _all(client, post, people)  # the same people again: duplicates
    await _all(client, post, [{**p, "team_size": "11-50", "consent": ["sales_contact", "marketing"]} for p in people])
    phones = [{"name": f"Caller {n}", "phone": _phone(n), "consent": ["sales_contact"]} for n in range(PEOPLE)]
    await _all(client, call, phones)
    await _all(client, call, [{**p, "name": f"Caller {n} again"} for n, p in enumerate(phones)])  # known by phone
    await _all(client, call, [{"name": "Nobody", "consent": ["sales_contact"]}] * 4)  # no email, no phone
    keyed = [valid(name=f"Keyed {n}", email=f"keyed{n}@example.com") for n in range(PEOPLE)]
    for _ in range(2):  # the second round replays the stored answers
        answers = await asyncio.gather(
            *(client.post(post, json=b, headers={"Idempotency-Key": f"key-{i}"}) for i, b in enumerate(keyed))
        )
        assert all(a.status_code == 201 for a in answers)
    submission_id: str = first[0]["id"]
    receipt = f"/c/{receipt_token(settings, submission_id)}"
    assert (await client.get(receipt)).status_code == 200
    assert (await client.get(receipt, headers={"Accept": "application/json"})).status_code == 200
    withdrawn = await client.post(f"{receipt}/withdraw", data={"purpose": "sales_contact"})
    assert withdrawn.status_code == 303
    leads = await client.get("/api/v1/leads", headers=tenant.headers)
    assert leads.status_code == 200
    lead_id = leads.json()["items"][0]["id"]
    assert (await client.get(f"/api/v1/leads/{lead_id}", headers=tenant.headers)).status_code == 200
    found = await client.get("/api/v1/leads", params={"email": "person3@example.com"}, headers=tenant.headers)
    assert len(found.json()["items"]) == 1
    found = await client.get("/api/v1/leads", params={"phone": _phone(3)}, headers=tenant.headers)
    assert len(found.json()["items"]) == 1
    await _source_workload(client, tenant, form)


async def _source_workload(client: httpx.AsyncClient, tenant: Tenant, form: dict[str, Any]) -> None:
    """Google Ads leads and forgeries through a source, noted in its activity, and the two reads of it."""
    body = {"kind": "google_ads", "form_id": form["id"], "google_key": "k3y-from-google-ads"}
    source = (
        await client.post(
            "/api/v1/sources", json={**body, "consent_purposes": ["sales_contact"]}, headers=tenant.headers
        )
    ).json()
    hook = "/hooks/" + source["url"].rsplit("/hooks/", 1)[1]
    leads = [
        {
            "lead_id": f"g-{n}",
            "google_key": "k3y-from-google-ads" if n % 4 else "forged",
            "user_column_data": [
                {"column_id": "FULL_NAME", "string_value": f"Googler {n}"},
                {"column_id": "EMAIL", "string_value": f"googler{n}@example.com"},
            ],
        }
        for n in range(PEOPLE)
    ]
    await asyncio.gather(*(client.post(hook, json=lead) for lead in leads))
    path = f"/api/v1/sources/{source['id']}"

    async def noted() -> bool:
        return bool((await client.get(f"{path}/activity", headers=tenant.headers)).json()["received"] == PEOPLE)

    await eventually(noted)
    assert (await client.get(f"{path}/payloads", headers=tenant.headers)).status_code == 200


def _batched(captured: Captured) -> bool:
    """Whether the writer took several people at once: a one-person batch hides the plans of longer IN lists."""
    lookups = [s for s in captured.statements if s.startswith("SELECT lead.") and " IN (" in s]
    return any(s.count(",", s.index(" IN (")) >= 4 for s in lookups)


async def test_no_hot_statement_scans_a_large_table_or_a_whole_workspace(
    plan_settings: Settings, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    async def delivered() -> bool:
        async with db.session(write=False) as session:
            statement = select(func.count()).where(Delivery.status != "succeeded")
            return int(await session.scalar(statement) or 0) == 0

    async with serve(plan_settings) as client:
        forms = await _forms(client, tenant, receiver)
        # Enough history for PostgreSQL's planner to tell a lookup from a walk through the whole workspace or form.
        async with db.session(write=True) as session:
            await preload_people(
                session, workspace_id=tenant.workspace_id, form_ids=[f["id"] for f in forms], count=PRELOADED,
                idempotency_keys=True,
            )  # fmt: skip
        with capture_statements(ignore=db.engine.sync_engine) as captured:
            await _workload(client, tenant, forms, receiver, plan_settings)
            await eventually(delivered, seconds=30)

    assert _batched(captured), "the workload never wrote several people in one batch"
    assert any(s.startswith("UPDATE delivery") for s in captured.statements), "nothing was delivered"
    assert any(s.startswith("DELETE FROM source_payload") for s in captured.statements), "no payload was recorded"
    async with db.session(write=False) as session:
        problems = await scans_in(await session.connection(), captured)
    assert not problems, "statements that scan:\n" + "\n".join(problems)


async def test_the_check_tells_a_lookup_from_a_scan_and_from_a_walk_through_the_workspace(
    tenant: Tenant, db: Database
) -> None:
    async with db.session(write=True) as session:  # PostgreSQL's planner needs rows to prefer the lookup
        form = await create_form_in(session, workspace_id=tenant.workspace_id, data=DEMO_FORM, actor="test")
        await preload_people(session, workspace_id=tenant.workspace_id, form_ids=[form.id], count=PRELOADED)
    lookup = select(Lead.id).where(Lead.workspace_id == tenant.workspace_id, Lead.email == "asha@example.com")
    statements = {
        "scan": select(Lead.id).where(Lead.name == "Asha Rao"),
        "walk": select(Lead.id).where(Lead.workspace_id == tenant.workspace_id).order_by(Lead.id),
        "page": select(Lead.id).where(Lead.workspace_id == tenant.workspace_id).order_by(Lead.id).limit(50),
        "search": select(Lead.id)
        .where(Lead.workspace_id == tenant.workspace_id, Lead.name == "Asha Rao")
        .order_by(Lead.id)
        .limit(50),
        "lookup": lookup,
    }
    found = {}
    for name, statement in statements.items():
        with capture_statements(ignore=None) as captured:
            async with db.session(write=False) as session:
                await session.execute(statement)
        async with db.session(write=False) as session:
            found[name] = await scans_in(await session.connection(), captured)

    assert found["scan"]
    assert found["walk"]
    assert found["search"]  # a page of what the index cannot find walks until it has a page: maybe everything
    assert found["page"] == found["lookup"] == []
