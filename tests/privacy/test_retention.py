"""Retention: each workspace's periods for spam, submissions and webhook response bodies, applied by the purge."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select, update

from consent.models import ConsentEvent
from core.database import Database, utcnow
from core.ids import new_id
from delivery.models import Delivery, DeliveryAttempt, Message, WebhookEndpoint
from leads.models import Lead, Submission
from privacy import retention
from privacy.retention import PurgeReport, PurgeScheduler, purge
from tests.conftest import make_settings

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncSession

    from core.settings import Settings
    from tests.conftest import Client, Tenant

DAY = timedelta(days=1)
FORM: dict[str, Any] = {
    "name": "Contact sales",
    "status": "published",
    "fields": [{"name": "email", "type": "email", "required": True}],
    "consents": [
        {"purpose": "sales_contact", "channel": "email", "text": "Acme may email me about this.", "required": True}
    ],
}


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The shared settings with room for every submission these tests make from one address."""
    return make_settings(database_url, rate_limit_ip_form="10000/minute", rate_limit_ip="10000/minute")


async def _form(client: Client, tenant: Tenant) -> dict[str, Any]:
    response = await client.post("/api/v1/forms", json=FORM, headers=tenant.headers)
    assert response.status_code == 201, response.text
    form: dict[str, Any] = response.json()
    return form


async def _set(client: Client, tenant: Tenant, **settings: int | None) -> None:
    response = await client.patch("/api/v1/workspace", json={"settings": settings}, headers=tenant.headers)
    assert response.status_code == 200, response.text


async def _submit(client: Client, form: dict[str, Any], email: str) -> str:
    response = await client.post(f"/f/{form['slug']}", json={"email": email, "consent": ["sales_contact"]})
    assert response.status_code == 201, response.text
    submission_id: str = response.json()["id"]
    return submission_id


async def _age(db: Database, submission_id: str, days: float) -> None:
    async with db.session(write=True) as session:
        await session.execute(
            update(Submission).where(Submission.id == submission_id).values(created_at=utcnow() - days * DAY)
        )


async def _spam(db: Database, tenant: Tenant, form: dict[str, Any], *ages_in_days: float) -> list[str]:
    """Spam submissions of these ages, stored as the pipeline stores spam."""
    now = utcnow()
    rows = [
        Submission(
            id=new_id("sub"),
            workspace_id=tenant.workspace_id,
            form_id=form["id"],
            form_version=form["version"],
            verdict="spam",
            spam_reason="honeypot",
            source="form",
            fields={"email": "bot@example.com"},
            consents=[],
            fingerprint="0" * 64,
            utm={},
            created_at=now - age * DAY,
        )
        for age in ages_in_days
    ]
    async with db.session(write=True) as session:
        session.add_all(rows)
    return [row.id for row in rows]


async def _attempts(db: Database, tenant: Tenant, *ages_in_days: float) -> list[str]:
    """Delivery attempts of these ages, each with the body its receiver sent back."""
    now = utcnow()
    endpoint = WebhookEndpoint(
        id=new_id("ep"),
        workspace_id=tenant.workspace_id,
        url="https://crm.example/hooks",
        event_types=[],
        secrets=[],
        status="disabled",
    )
    message = Message(id=new_id("msg"), workspace_id=tenant.workspace_id, event_type="lead.created", payload={})
    delivery = Delivery(
        id=new_id("dlv"),
        workspace_id=tenant.workspace_id,
        message_id=message.id,
        endpoint_id=endpoint.id,
        event_type="lead.created",
        status="succeeded",
        attempt_count=len(ages_in_days),
    )
    attempts = [
        DeliveryAttempt(
            id=new_id("att"),
            delivery_id=delivery.id,
            attempted_at=now - age * DAY,
            status_code=200,
            duration_ms=12,
            response_body='{"echo": {"email": "asha@example.com"}}',
        )
        for age in ages_in_days
    ]
    async with db.session(write=True) as session:
        session.add_all([endpoint, message])
        await session.flush()
        session.add(delivery)
        await session.flush()
        session.add_all(attempts)
    return [attempt.id for attempt in attempts]


async def _submission_ids(db: Database, tenant: Tenant) -> set[str]:
    async with db.session(write=False) as session:
        return set(await session.scalars(select(Submission.id).where(Submission.workspace_id == tenant.workspace_id)))


async def _bodies(db: Database, attempt_ids: list[str]) -> dict[str, str]:
    async with db.session(write=False) as session:
        rows = await session.execute(
            select(DeliveryAttempt.id, DeliveryAttempt.response_body).where(DeliveryAttempt.id.in_(attempt_ids))
        )
        return dict(rows.all())


async def test_each_workspace_keeps_spam_and_response_bodies_for_its_own_periods(
    client: Client, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _set(client, tenant, retain_spam_days=7, retain_attempt_bodies_days=10)
    acme_form, globex_form = await _form(client, tenant), await _form(client, other_tenant)
    acme_lead = await _submit(client, acme_form, "asha@example.com")
    await _age(db, acme_lead, 400)  # submissions are kept until erased unless a period is set
    acme_spam_old, acme_spam_new = await _spam(db, tenant, acme_form, 8, 6)
    globex_spam_kept, globex_spam_old = await _spam(db, other_tenant, globex_form, 8, 31)
    acme_old_body, acme_new_body = await _attempts(db, tenant, 11, 9)
    globex_kept_body, globex_old_body = await _attempts(db, other_tenant, 11, 31)

    report = await purge(db)

    assert report == PurgeReport(workspaces=2, spam_deleted=2, submissions_deleted=0, attempt_bodies_blanked=2)
    assert await _submission_ids(db, tenant) == {acme_lead, acme_spam_new}
    assert await _submission_ids(db, other_tenant) == {globex_spam_kept}
    bodies = await _bodies(db, [acme_old_body, acme_new_body, globex_kept_body, globex_old_body])
    assert bodies[acme_old_body] == bodies[globex_old_body] == ""
    assert bodies[acme_new_body] == bodies[globex_kept_body] != ""
    async with db.session(write=False) as session:
        blanked = await session.get_one(DeliveryAttempt, acme_old_body)
    assert (blanked.status_code, blanked.duration_ms) == (200, 12)  # the record of the attempt stays
    assert globex_spam_old not in await _submission_ids(db, other_tenant)
    assert acme_spam_old not in await _submission_ids(db, tenant)

    assert await purge(db) == PurgeReport(workspaces=2)  # nothing more to do: a second run changes nothing

    later = await purge(db, now=utcnow() + 2 * DAY)  # the periods count back from `now`
    assert later == PurgeReport(workspaces=2, spam_deleted=1, attempt_bodies_blanked=1)
    assert await _submission_ids(db, tenant) == {acme_lead}


async def test_a_submissions_period_deletes_old_submissions_and_keeps_their_consent_events(
    client: Client, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    await _set(client, tenant, retain_submissions_days=90)
    acme_form, globex_form = await _form(client, tenant), await _form(client, other_tenant)
    old = await _submit(client, acme_form, "asha@example.com")
    recent = await _submit(client, acme_form, "ravi@example.com")
    theirs = await _submit(client, globex_form, "asha@example.com")
    for submission_id, days in ((old, 100), (recent, 10), (theirs, 100)):
        await _age(db, submission_id, days)
    (old_spam,) = await _spam(db, tenant, acme_form, 100)
    async with db.session(write=False) as session:
        events_before = await session.scalar(select(func.count()).select_from(ConsentEvent))
        old_events = list(await session.scalars(select(ConsentEvent.id).where(ConsentEvent.submission_id == old)))
        old_lead = await session.scalar(select(Submission.lead_id).where(Submission.id == old))
    assert old_events

    report = await purge(db)

    # The old spam goes for being spam (30 days), before the submissions period reaches it.
    assert report == PurgeReport(workspaces=2, spam_deleted=1, submissions_deleted=1)
    assert await _submission_ids(db, tenant) == {recent}
    assert await _submission_ids(db, other_tenant) == {theirs}  # no period set there: kept until erased
    async with db.session(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(ConsentEvent)) == events_before
        survivors = list(await session.scalars(select(ConsentEvent).where(ConsentEvent.id.in_(old_events))))
        assert await session.get(Lead, old_lead) is not None  # the person stays; only the submission is gone
    assert len(survivors) == len(old_events)
    assert all(event.submission_id is None for event in survivors)
    assert old_spam not in await _submission_ids(db, tenant)
    assert await purge(db) == PurgeReport(workspaces=2)


async def test_work_is_done_in_batches_until_nothing_is_left(client: Client, db: Database, tenant: Tenant) -> None:
    form = await _form(client, tenant)
    await _spam(db, tenant, form, *([40] * 7), 1)
    await _attempts(db, tenant, *([40] * 5))

    report = await purge(db, batch_size=2)

    assert report == PurgeReport(workspaces=1, spam_deleted=7, attempt_bodies_blanked=5)
    assert len(await _submission_ids(db, tenant)) == 1
    with pytest.raises(ValueError, match="batch_size"):
        await purge(db, batch_size=0)


async def test_two_purges_at_once_share_the_work_without_errors(
    client: Client, db: Database, settings: Settings, tenant: Tenant, other_tenant: Tenant
) -> None:
    forms = {
        tenant.workspace_id: await _form(client, tenant),
        other_tenant.workspace_id: await _form(client, other_tenant),
    }
    for owner in (tenant, other_tenant):
        await _spam(db, owner, forms[owner.workspace_id], *([45] * 40), 2)
        await _attempts(db, owner, *([45] * 25))
    # Two workers: two engines, two connection pools, as two processes would have.
    first, second = Database(settings), Database(settings)
    try:
        reports = await asyncio.gather(purge(first, batch_size=7), purge(second, batch_size=7))
    finally:
        await first.dispose()
        await second.dispose()

    assert sum(report.spam_deleted for report in reports) == 80
    assert sum(report.attempt_bodies_blanked for report in reports) == 50
    assert all(report.submissions_deleted == 0 for report in reports)
    assert len(await _submission_ids(db, tenant)) == len(await _submission_ids(db, other_tenant)) == 1
    assert await purge(db) == PurgeReport(workspaces=2)


async def test_the_scheduler_purges_in_the_background_and_stops_cleanly(
    client: Client, db: Database, settings: Settings, tenant: Tenant
) -> None:
    form = await _form(client, tenant)
    await _spam(db, tenant, form, 31)
    scheduler = PurgeScheduler(db, settings, first_delay=0, interval=0.05)
    await scheduler.start()
    try:
        for _ in range(200):
            if not await _submission_ids(db, tenant):
                break
            await asyncio.sleep(0.02)
    finally:
        await scheduler.stop()
    assert not await _submission_ids(db, tenant)
    await scheduler.stop()  # stopping twice is harmless


async def test_a_failing_purge_is_logged_and_the_scheduler_keeps_going(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken_settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/never-migrated.db")
    broken = Database(broken_settings)
    scheduler = PurgeScheduler(broken, broken_settings, first_delay=0, interval=0.01)
    try:
        with caplog.at_level(logging.ERROR, logger="leadwire.retention"):
            await scheduler.start()
            for _ in range(200):
                if len([r for r in caplog.records if r.name == "leadwire.retention"]) >= 3:
                    break
                await asyncio.sleep(0.01)
            task = scheduler._task
            assert task is not None
            assert not task.done()
    finally:
        await scheduler.stop()
        await broken.dispose()
    failures = [r for r in caplog.records if r.name == "leadwire.retention"]
    assert len(failures) >= 3
    assert all(r.exc_info for r in failures)


@pytest.mark.parametrize(("slow_write_s", "expected"), [(60.0, [10, 20, 40, 30]), (0.0, [10, 5, 2, *[1] * 83])])
async def test_batches_grow_while_writes_are_quick_and_shrink_when_they_are_slow(
    db: Database, monkeypatch: pytest.MonkeyPatch, slow_write_s: float, expected: list[int]
) -> None:
    monkeypatch.setattr(retention, "_SLOW_WRITE_S", slow_write_s)
    pending = [f"sub_{index:026d}" for index in range(100)]
    sizes: list[int] = []

    async def find(_session: AsyncSession, after: str, limit: int) -> list[str]:
        return [item for item in pending if item > after][:limit]

    async def apply(_session: AsyncSession, ids: list[str]) -> int:
        sizes.append(len(ids))
        return len(ids)

    assert await retention._in_batches(db, find, apply, 1000) == 100
    assert sizes == expected
