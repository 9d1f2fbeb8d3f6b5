"""The outbox's lease rules, driven directly: no worker, no timing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from core.database import utcnow
from delivery import outbox
from delivery import service as delivery
from delivery.models import Delivery, DeliveryAttempt
from delivery.schemas import EndpointCreate
from tests.conftest import make_settings, new_tenant

if TYPE_CHECKING:
    from core.database import Database


async def test_an_attempt_in_flight_when_its_endpoint_is_deleted_cannot_revive_the_delivery(
    db: Database, database_url: str
) -> None:
    settings = make_settings(database_url)
    tenant = await new_tenant(db, "Acme")
    async with db.session(write=True) as session:
        endpoint, _ = await delivery.create_endpoint(
            session, workspace_id=tenant.workspace_id, data=EndpointCreate(url="https://1.1.1.1/"),
            settings=settings, actor="test",
        )  # fmt: skip
        await outbox.enqueue(session, workspace_id=tenant.workspace_id, event_type="lead.created", payload={})
    async with db.session(write=True) as session:
        (claimed,) = await outbox.claim_due(session, limit=10, lease_seconds=60, now=utcnow())
    async with db.session(write=True) as session:
        await delivery.delete_endpoint(session, workspace_id=tenant.workspace_id, endpoint_id=endpoint.id, actor="t")
    # The worker's request comes back failed, as it would for a retryable error, after the deletion committed.
    failure = outbox.Outcome(claimed=claimed, attempted_at=utcnow(), duration_ms=5, status_code=500)
    async with db.session(write=True) as session:
        await outbox.record_outcomes(session, [failure], settings=settings, now=utcnow())
    async with db.session(write=False) as session:
        row = await session.get_one(Delivery, claimed.delivery_id)
        attempts = await session.scalar(select(func.count()).where(DeliveryAttempt.delivery_id == row.id))
    assert (row.status, row.last_error, row.lease_token) == ("failed", "the endpoint was deleted", None)
    assert attempts == 1  # the attempt is still on record
