"""How the worker claims: with the default settings and one endpoint, a backlog goes out without idle waits."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from delivery import outbox
from delivery.models import WebhookEndpoint
from delivery.signing import new_secret
from delivery.worker import DeliveryWorker
from tests.conftest import make_settings, new_tenant

if TYPE_CHECKING:
    import pytest
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.database import Database
    from tests.webhooks import Receiver

# Several times what a worker claims at once with the default settings (4 x the concurrency of 100).
BACKLOG = 1_000


async def test_a_backlog_for_one_endpoint_never_leaves_the_worker_idle(
    database_url: str, db: Database, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker never waits for its poll with nothing in flight while deliveries are due.

    Most workspaces have a single CRM endpoint, and the database is often slower than it: here every transaction
    that records outcomes lasts until the deliveries in flight have finished, so one transaction records them all.
    Those outcomes are no longer in flight and must not count against the endpoint's share: a wait for the poll
    with nothing in flight before the receiver has the whole backlog is a stall, one poll interval (a second by
    default) of doing nothing with work due and every slot free.
    """
    settings = make_settings(database_url, allow_private_webhook_targets="true", delivery_poll_seconds="0.05")
    assert (settings.delivery_concurrency, settings.delivery_endpoint_concurrency) == (100, 20)  # the defaults
    tenant = await new_tenant(db, "Acme")
    async with db.session(write=True) as session:
        session.add(
            WebhookEndpoint(
                id="ep_crm", workspace_id=tenant.workspace_id, url=receiver.url, event_types=[],
                secrets=[{"secret": new_secret(), "expires_at": None}],
            )
        )  # fmt: skip
    await db.transact(
        outbox.enqueue_many, [outbox.Event(tenant.workspace_id, "lead.created", {"n": n}) for n in range(BACKLOG)]
    )

    worker = DeliveryWorker(db, settings)
    record_outcomes = outbox.record_outcomes

    async def record_slowly(session: AsyncSession, outcomes: list[outbox.Outcome], **kwargs: Any) -> None:
        if worker._tasks:
            await asyncio.wait(set(worker._tasks))
        await record_outcomes(session, outcomes, **kwargs)

    stalls: list[int] = []  # how many requests the receiver had each time the worker went idle with work due
    wait_for_wake = worker._wait_for_wake

    async def watched_wait(seconds: float) -> None:
        if not worker._tasks and len(receiver.requests) < BACKLOG:
            stalls.append(len(receiver.requests))
        await wait_for_wake(seconds)

    monkeypatch.setattr(outbox, "record_outcomes", record_slowly)
    monkeypatch.setattr(worker, "_wait_for_wake", watched_wait)
    await worker.start()
    try:
        await receiver.wait_for(BACKLOG, seconds=60)
    finally:
        await worker.stop()
    assert len(receiver.requests) == BACKLOG
    assert stalls == []
