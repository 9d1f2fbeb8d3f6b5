"""One lead per person: duplicates inside the window are kept but not delivered, even when posted all at once."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from delivery.models import Delivery
from leads.models import Lead, Submission
from tests.ingest.conftest import add_endpoint, create_form, serve, valid
from tests.webhooks import eventually

if TYPE_CHECKING:
    from core.database import Database
    from core.settings import Settings
    from tests.conftest import Client, Tenant
    from tests.webhooks import Receiver


async def _count(db: Database, statement: object) -> int:
    async with db.session(write=False) as session:
        return int(await session.scalar(statement) or 0)  # type: ignore[call-overload]


async def test_the_same_content_twice_is_a_duplicate_and_new_content_is_a_new_submission_of_the_lead(
    app_client: Client, tenant: Tenant, receiver: Receiver
) -> None:
    form = await create_form(app_client, tenant)
    await add_endpoint(app_client, tenant, receiver.url)

    first = await app_client.post(f"/f/{form['slug']}", json=valid())
    again = await app_client.post(f"/f/{form['slug']}", json=valid(email="ASHA@example.com"))
    changed = await app_client.post(f"/f/{form['slug']}", json=valid(team_size="11-50"))

    assert first.status_code == again.status_code == changed.status_code == 201
    assert again.json()["status"] == "accepted"  # a duplicate is answered as a success
    await receiver.wait_for(2)
    await asyncio.sleep(0.3)
    types = [body for _, body in receiver.requests]
    assert len(types) == 2
    assert b'"type":"lead.created"' in types[0]
    assert b'"type":"lead.updated"' in types[1]
    assert b'"is_new":false' in types[1]
    items = (await app_client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"]
    assert [i["verdict"] for i in reversed(items)] == ["accepted", "duplicate", "accepted"]
    leads = (await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"]
    assert len(leads) == 1
    assert leads[0]["submission_count"] == 2
    # An unverified submission never changes a known person's lead: its values travel in its own submission.
    assert "team_size" not in leads[0]["fields"]
    assert b'"team_size":"11-50"' in types[1]


async def test_a_zero_window_turns_de_duplication_off(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant, settings={"dedupe_window_seconds": 0})

    for _ in range(2):
        assert (await app_client.post(f"/f/{form['slug']}", json=valid())).status_code == 201

    items = (await app_client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"]
    assert [i["verdict"] for i in items] == ["accepted", "accepted"]


async def test_a_person_is_matched_by_phone_when_there_is_no_email(app_client: Client, tenant: Tenant) -> None:
    fields = [{"name": "name", "type": "text"}, {"name": "phone", "type": "phone", "required": True}]
    form = await create_form(app_client, tenant, fields=fields, consents=[])

    await app_client.post(f"/f/{form['slug']}", json={"name": "A", "phone": "+91 98765 43210"})
    await app_client.post(f"/f/{form['slug']}", json={"name": "A B", "phone": "+919876543210"})

    leads = (await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"]
    assert [(lead["phone"], lead["name"], lead["submission_count"]) for lead in leads] == [("+919876543210", "A", 2)]


async def test_leads_are_per_workspace(app_client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    mine = await create_form(app_client, tenant)
    theirs = await create_form(app_client, other_tenant)

    await app_client.post(f"/f/{mine['slug']}", json=valid())
    await app_client.post(f"/f/{theirs['slug']}", json=valid())

    for who in (tenant, other_tenant):
        leads = (await app_client.get("/api/v1/leads", headers=who.headers)).json()["items"]
        assert len(leads) == 1
        assert leads[0]["submission_count"] == 1


async def test_a_hundred_identical_posts_at_once_make_one_lead_and_one_delivery(
    ingest_settings: Settings, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    async with serve(ingest_settings) as client:
        form = await create_form(client, tenant)
        await add_endpoint(client, tenant, receiver.url)

        answers = await asyncio.gather(*(client.post(f"/f/{form['slug']}", json=valid()) for _ in range(100)))

        assert [a.status_code for a in answers] == [201] * 100
        assert len({a.json()["id"] for a in answers}) == 100
        assert await _count(db, select(func.count()).select_from(Submission)) == 100
        assert await _count(db, select(func.count()).select_from(Lead)) == 1
        assert await _count(db, select(func.count()).where(Submission.verdict == "accepted")) == 1
        assert await _count(db, select(func.count()).select_from(Delivery)) == 1

        async def delivered() -> bool:
            return await _count(db, select(func.count()).where(Delivery.status == "succeeded")) == 1

        await eventually(delivered)
        await asyncio.sleep(0.3)
        assert len(receiver.requests) == 1


async def test_identical_posts_spread_over_two_instances_still_make_one_lead_and_one_delivery(
    ingest_settings: Settings, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    async with serve(ingest_settings) as one, serve(ingest_settings) as two:
        form = await create_form(one, tenant)
        await add_endpoint(one, tenant, receiver.url)
        assert (await one.post(f"/f/{form['slug']}", json=valid())).status_code == 201
        # The person is known now: only the lock on their lead keeps two instances from both accepting news.
        news = valid(team_size="51+")
        posts = [(one if i % 2 else two).post(f"/f/{form['slug']}", json=news) for i in range(100)]

        answers = await asyncio.gather(*posts)

        assert [a.status_code for a in answers] == [201] * 100
        assert await _count(db, select(func.count()).select_from(Lead)) == 1
        assert await _count(db, select(func.count()).where(Submission.verdict == "accepted")) == 2
        assert await _count(db, select(func.count()).where(Submission.event_type == "lead.updated")) == 1
        assert await _count(db, select(func.count()).select_from(Delivery)) == 2
        await receiver.wait_for(2)


async def test_submissions_without_email_or_phone_are_never_duplicates(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant, fields=[{"name": "rating", "type": "number"}], consents=[])

    for _ in range(2):
        assert (await app_client.post(f"/f/{form['slug']}", json={"rating": 5})).status_code == 201

    items = (await app_client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"]
    assert [i["verdict"] for i in items] == ["accepted", "accepted"]
    assert len((await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"]) == 2
