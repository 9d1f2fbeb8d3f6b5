"""Delivery history and recovery: list and inspect deliveries, retry one, recover an endpoint's failures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update

from core.database import call_after_commit, utcnow
from core.errors import Conflict, NotFound
from core.pagination import fetch_page
from delivery.models import Delivery, DeliveryAttempt, Message, WebhookEndpoint
from delivery.outbox import delivery_row
from delivery.wakeup import notify_workers

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "attempts_past_retention",
    "blank_attempt_bodies",
    "get_delivery",
    "list_deliveries",
    "recover_endpoint",
    "retry_delivery",
)


async def list_deliveries(
    session: AsyncSession,
    *,
    workspace_id: str,
    endpoint_id: str | None,
    status: str | None,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Delivery], str | None]:
    """One page of the workspace's deliveries, newest first, filtered as asked."""
    statement = select(Delivery).where(Delivery.workspace_id == workspace_id)
    if endpoint_id is not None:
        statement = statement.where(Delivery.endpoint_id == endpoint_id)
    if status is not None:
        statement = statement.where(Delivery.status == status)
    if event_type is not None:
        statement = statement.where(Delivery.event_type == event_type)
    if since is not None:
        statement = statement.where(Delivery.created_at >= since)
    if until is not None:
        statement = statement.where(Delivery.created_at < until)
    return await fetch_page(session, statement, id_column=Delivery.id, limit=limit, cursor=cursor)


async def _delivery(session: AsyncSession, *, workspace_id: str, delivery_id: str) -> Delivery:
    delivery = await session.scalar(
        select(Delivery).where(Delivery.id == delivery_id, Delivery.workspace_id == workspace_id)
    )
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    return delivery


async def get_delivery(
    session: AsyncSession, *, workspace_id: str, delivery_id: str
) -> tuple[Delivery, Message, list[DeliveryAttempt]]:
    """A delivery of the workspace with its message and every attempt, oldest attempt first."""
    delivery = await _delivery(session, workspace_id=workspace_id, delivery_id=delivery_id)
    message = await session.get_one(Message, delivery.message_id)
    attempts = await session.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery.id).order_by(DeliveryAttempt.id)
    )
    return delivery, message, list(attempts)


def _due_again(session: AsyncSession) -> dict[str, object]:
    call_after_commit(session, notify_workers)
    now = utcnow()
    return {"status": "pending", "next_attempt_at": now, "completed_at": None, "updated_at": now}


async def retry_delivery(session: AsyncSession, *, workspace_id: str, delivery_id: str) -> Delivery:
    """Send a failed (or succeeded) delivery again now, with the same ``webhook-id``.

    Raises:
        NotFound: No such delivery in this workspace.
        Conflict: It is still pending (it will be attempted anyway), or its endpoint was deleted.
    """
    delivery = await _delivery(session, workspace_id=workspace_id, delivery_id=delivery_id)
    if delivery.status == "pending":
        raise Conflict("the delivery is still pending; it will be attempted on its schedule")
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None:
        raise Conflict("the delivery's endpoint was deleted")
    for key, value in _due_again(session).items():
        setattr(delivery, key, value)
    return delivery


async def recover_endpoint(session: AsyncSession, *, endpoint: WebhookEndpoint, since: datetime) -> int:
    """Re-send to ``endpoint`` everything since ``since`` that failed, or that it missed while it was disabled.

    Messages from before the endpoint existed are never sent to it. The caller holds the endpoint's row lock (or
    SQLite's write lock), and the unique (message, endpoint) index backs it up: recovering twice sends once.

    Returns:
        How many deliveries were made due again or created.
    """
    since = max(since, endpoint.created_at)
    failed = await session.execute(
        update(Delivery)
        .where(Delivery.endpoint_id == endpoint.id, Delivery.status == "failed", Delivery.created_at >= since)
        .values(**_due_again(session))
    )
    delivered = select(Delivery.message_id).where(Delivery.endpoint_id == endpoint.id)
    missed = select(Message).where(
        Message.workspace_id == endpoint.workspace_id,
        Message.created_at >= since,
        Message.event_type != "webhook.test",
        Message.id.not_in(delivered),
    )
    if endpoint.event_types:
        missed = missed.where(Message.event_type.in_(endpoint.event_types))
    now = utcnow()
    rows = [delivery_row(message, endpoint.id, now) for message in await session.scalars(missed)]
    if rows:
        await session.execute(insert(Delivery), rows)
    return int(failed.rowcount or 0) + len(rows)  # type: ignore[attr-defined]


async def attempts_past_retention(
    session: AsyncSession, *, workspace_id: str, older_than: datetime, after_id: str = "", limit: int = 1_000
) -> list[str]:
    """The ids of the workspace's attempts made before ``older_than`` that still hold a response body.

    Read-only, so a caller can search in a read transaction and blank in a short write one. Ids come in order,
    from just after ``after_id``, at most ``limit`` of them.
    """
    statement = (
        select(DeliveryAttempt.id)
        .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .where(
            Delivery.workspace_id == workspace_id,
            DeliveryAttempt.id > after_id,
            DeliveryAttempt.attempted_at < older_than,
            DeliveryAttempt.response_body != "",
        )
        .order_by(DeliveryAttempt.id)
        .limit(limit)
    )
    return list(await session.scalars(statement))


async def blank_attempt_bodies(session: AsyncSession, *, attempt_ids: list[str], older_than: datetime) -> int:
    """Blank the response bodies of these attempts, those made before ``older_than`` (checked again here).

    A receiver may echo the personal data it was sent, so bodies are kept only for a while; each attempt's status
    code, duration and error stay. Blanking twice changes nothing the second time. On PostgreSQL, attempts that
    another transaction is changing right now are skipped rather than waited for, so concurrent purges never wait
    on each other.

    Returns:
        How many bodies were blanked.
    """
    if not attempt_ids:
        return 0
    due = (
        select(DeliveryAttempt.id)
        .where(
            DeliveryAttempt.id.in_(attempt_ids),
            DeliveryAttempt.attempted_at < older_than,
            DeliveryAttempt.response_body != "",
        )
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        update(DeliveryAttempt)
        .where(DeliveryAttempt.id.in_(due.scalar_subquery()))
        .values(response_body="")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
