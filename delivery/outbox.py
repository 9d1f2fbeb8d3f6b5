"""The transactional outbox: enqueue in the caller's transaction, claim due rows under a lease, record outcomes."""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import bindparam, insert, or_, select, true, update

from core.database import UTCDateTime, call_after_commit, utcnow
from core.ids import new_id, random_token
from delivery.models import Delivery, DeliveryAttempt, Message, WebhookEndpoint
from delivery.wakeup import notify_workers
from workspaces import service as workspaces

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import Session

    from core.settings import Settings

__all__ = (
    "Claimed",
    "Event",
    "Outcome",
    "claim_due",
    "delivery_row",
    "enqueue",
    "enqueue_many",
    "forget_endpoints",
    "live_secrets",
    "record_outcomes",
    "release",
    "retry_after_seconds",
)

_DELIVERY = cast("Table", Delivery.__table__)  # Core statements on the hot path skip the ORM's per-row work
_ATTEMPT = cast("Table", DeliveryAttempt.__table__)
_MESSAGE = cast("Table", Message.__table__)
_ENDPOINT = cast("Table", WebhookEndpoint.__table__)
# Only the worker holding a delivery's lease may move it: every executemany UPDATE of claimed rows matches both.
_BY_LEASE = (_DELIVERY.c.id == bindparam("b_id"), _DELIVERY.c.lease_token == bindparam("b_token"))
_ENDPOINTS_CACHE = "leadwire_enabled_endpoints"
_MAX_RETRY_AFTER_S = 86_400
_STREAK_GAP_S = 86_400
_JITTER = 0.2


class Event(NamedTuple):
    """One event to announce: ``payload`` becomes the webhook body's ``data``."""

    workspace_id: str
    event_type: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Claimed:
    """Everything a worker needs to send one delivery, detached from the session."""

    delivery_id: str
    lease_token: str
    message_id: str
    event_type: str
    payload: dict[str, Any]
    message_created_at: datetime
    endpoint_id: str
    url: str
    secrets: list[str] = field(repr=False)
    rate_limit_per_second: float | None
    lease_expires_at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to."""

    claimed: Claimed
    attempted_at: datetime
    duration_ms: int
    status_code: int | None = None
    response_body: str = ""
    error: str | None = None
    retry_after_s: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300  # noqa: PLR2004


def live_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The endpoint's secrets that still sign: the current one and any rotated out less than the overlap ago."""
    result = []
    for entry in endpoint.secrets:
        expires = entry.get("expires_at")
        if expires is None or datetime.fromisoformat(expires) > now:
            result.append(str(entry["secret"]))
    return result


async def enqueue(
    session: AsyncSession,
    *,
    workspace_id: str,
    event_type: str,
    payload: dict[str, Any],
    only_endpoint_id: str | None = None,
) -> Message:
    """Write a message and one delivery per matching enabled endpoint in the caller's transaction.

    Nothing is sent before the caller commits; the commit wakes this process's workers.

    Args:
        session: The caller's write session: the message commits, or rolls back, with the caller's change.
        workspace_id: Whose endpoints receive it.
        event_type: e.g. ``lead.created``.
        payload: The event's ``data``, JSON-serialisable.
        only_endpoint_id: Deliver to this endpoint alone, whatever its event filter (for test events).

    Returns:
        The message as written.
    """
    (message,) = await session.run_sync(
        enqueue_many, [Event(workspace_id, event_type, payload)], only_endpoint_id=only_endpoint_id
    )
    return message


def enqueue_many(session: Session, events: Sequence[Event], *, only_endpoint_id: str | None = None) -> list[Message]:
    """Write several messages and their deliveries with two multi-row INSERTs, in the caller's transaction.

    The ingest pipeline commits submissions in batches: this keeps a batch's outbox writes to two statements
    whatever its size, and looks each workspace's endpoints up once per transaction. Synchronous, for the batch
    writers (:meth:`core.database.Database.transact`); from async code, ``await session.run_sync(enqueue_many, …)``.

    Returns:
        The messages, in the order of ``events``.
    """
    now = utcnow()
    messages = [
        Message(
            id=new_id("msg"),
            workspace_id=event.workspace_id,
            event_type=event.event_type,
            payload=event.payload,
            created_at=now,
        )
        for event in events
    ]
    if not messages:
        return messages
    session.execute(
        insert(_MESSAGE),
        [
            {
                "id": m.id,
                "workspace_id": m.workspace_id,
                "event_type": m.event_type,
                "payload": m.payload,
                "created_at": m.created_at,
            }
            for m in messages
        ],
    )
    rows = []
    for message in messages:
        endpoints = _enabled_endpoints(session, message.workspace_id)
        for endpoint_id, types in endpoints:
            if only_endpoint_id is not None:
                wanted = endpoint_id == only_endpoint_id
            else:
                wanted = not types or message.event_type in types
            if wanted:
                rows.append(delivery_row(message, endpoint_id, now))
    if rows:
        session.execute(insert(_DELIVERY), rows)
    call_after_commit(session, notify_workers)
    return messages


def forget_endpoints(session: AsyncSession | Session) -> None:
    """Drop the transaction's cached endpoint lookup: call after changing endpoints in the same transaction."""
    session.info.pop(_ENDPOINTS_CACHE, None)


def _enabled_endpoints(session: Session, workspace_id: str) -> list[tuple[str, list[str]]]:
    """The workspace's enabled endpoints and their event filters, looked up once per transaction."""
    cache: dict[str, list[tuple[str, list[str]]]] = session.info.setdefault(_ENDPOINTS_CACHE, {})
    if workspace_id not in cache:
        rows = session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
                WebhookEndpoint.workspace_id == workspace_id,
                WebhookEndpoint.status == "enabled",
                WebhookEndpoint.deleted_at.is_(None),
            )
        )
        cache[workspace_id] = [(endpoint_id, list(event_types)) for endpoint_id, event_types in rows]
    return cache[workspace_id]


def delivery_row(message: Message, endpoint_id: str, now: datetime) -> dict[str, Any]:
    """The row of a pending delivery of ``message`` to the endpoint, due ``now``, for a Core INSERT."""
    return {
        "id": new_id("dlv"),
        "workspace_id": message.workspace_id,
        "message_id": message.id,
        "endpoint_id": endpoint_id,
        "event_type": message.event_type,
        "status": "pending",
        "attempt_count": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


async def claim_due(
    session: AsyncSession,
    *,
    limit: int,
    lease_seconds: int,
    now: datetime,
    skip_endpoints: frozenset[str] = frozenset(),
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of enabled endpoints to the calling worker.

    One ``UPDATE … WHERE id IN (due rows) RETURNING`` takes them: on PostgreSQL the due rows are selected
    ``FOR UPDATE SKIP LOCKED``, so concurrent workers skip each other's rows instead of waiting; on SQLite the write
    transaction (``BEGIN IMMEDIATE``) already serialises claims. A delivery whose lease has expired is due again,
    which is how the work of a killed worker is taken over. ``skip_endpoints`` are endpoints the caller already
    holds enough work for: leaving their rows to other workers keeps one slow endpoint from filling a worker.
    """
    due = (
        select(Delivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
        .where(
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at < now),
            WebhookEndpoint.status == "enabled",
            WebhookEndpoint.deleted_at.is_(None),
            Delivery.endpoint_id.not_in(skip_endpoints) if skip_endpoints else true(),
        )
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Delivery)
        .scalar_subquery()
    )
    table = _DELIVERY
    token = random_token(20)
    lease_expires_at = now + timedelta(seconds=lease_seconds)
    # Rows are unpacked once, as tuples: a Row's attribute access costs about 2 µs, and this runs for every delivery.
    leased: list[tuple[str, str, str]] = [
        (delivery_id, message_id, endpoint_id)
        for delivery_id, message_id, endpoint_id in await session.execute(
            update(table)
            .where(table.c.id.in_(due))
            .values(lease_token=token, lease_expires_at=lease_expires_at)
            .returning(table.c.id, table.c.message_id, table.c.endpoint_id)
        )
    ]
    if not leased:
        return []
    messages = {
        message_id: (event_type, payload, created_at)
        for message_id, event_type, payload, created_at in await session.execute(
            select(Message.id, Message.event_type, Message.payload, Message.created_at).where(
                Message.id.in_({message_id for _, message_id, _ in leased})
            )
        )
    }
    endpoints = {
        endpoint.id: (endpoint.url, live_secrets(endpoint, now), endpoint.rate_limit_per_second)
        for endpoint in await session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id.in_({endpoint_id for _, _, endpoint_id in leased}))
        )
    }
    claimed = []
    for delivery_id, message_id, endpoint_id in leased:
        event_type, payload, created_at = messages[message_id]
        url, secrets, rate_limit_per_second = endpoints[endpoint_id]
        claimed.append(
            Claimed(
                delivery_id=delivery_id,
                lease_token=token,
                message_id=message_id,
                event_type=event_type,
                payload=payload,
                message_created_at=created_at,
                endpoint_id=endpoint_id,
                url=url,
                secrets=secrets,
                rate_limit_per_second=rate_limit_per_second,
                lease_expires_at=lease_expires_at,
            )
        )
    return claimed


async def release(session: AsyncSession, claimed: list[Claimed]) -> None:
    """Give back leases of deliveries that were claimed but not sent (a worker stopping), so they go out at once."""
    await session.execute(
        update(_DELIVERY).where(*_BY_LEASE).values(lease_token=None, lease_expires_at=None),
        [{"b_id": c.delivery_id, "b_token": c.lease_token} for c in claimed],
    )


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from now, bounded to one day."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = (email.utils.parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(1.0, min(seconds, _MAX_RETRY_AFTER_S))


def _next_delay(attempt_count: int, delays: tuple[float, ...], retry_after_s: float | None) -> float | None:
    """Seconds until the next attempt after ``attempt_count`` attempts, or ``None`` when there is none left."""
    if attempt_count > len(delays):
        return None
    # Jitter spreads a receiver's recovery load; it is not security-relevant randomness.
    scheduled = delays[attempt_count - 1] * random.uniform(1 - _JITTER, 1 + _JITTER)  # noqa: S311
    # Retry-After can ask for more patience, never for less: a receiver answering "503, Retry-After: 1" must not
    # burn through a schedule meant to span a day in a few seconds.
    return scheduled if retry_after_s is None else max(scheduled, retry_after_s)


async def _disable(session: AsyncSession, endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    endpoint.status, endpoint.disabled_reason, endpoint.updated_at = "disabled", reason, now
    await workspaces.record_audit(
        session, workspace_id=endpoint.workspace_id, actor="worker", action="endpoint.disabled",
        target_type="webhook_endpoint", target_id=endpoint.id, details={"reason": reason},
    )  # fmt: skip


async def record_outcomes(session: AsyncSession, outcomes: list[Outcome], *, settings: Settings, now: datetime) -> None:
    """Store each attempt and move its delivery on: succeeded, due again later, or failed for good.

    Set-based, because this is the worker's hot path: one INSERT of every attempt, one UPDATE of every success,
    and per-row work only for failures. Only the worker still holding a delivery's lease moves it (the lease token
    is in every WHERE); the attempt is stored either way. 410 Gone disables the endpoint at once; an endpoint
    failing for ``delivery_disable_after_seconds`` is disabled.
    """
    if not outcomes:
        return
    await session.execute(
        insert(_ATTEMPT),
        [
            {
                "id": new_id("att"),
                "delivery_id": o.claimed.delivery_id,
                "attempted_at": o.attempted_at,
                "status_code": o.status_code,
                "duration_ms": o.duration_ms,
                "response_body": o.response_body,
                "error": o.error,
            }
            for o in outcomes
        ],
    )
    table = _DELIVERY
    released = {"lease_token": None, "lease_expires_at": None, "updated_at": now}
    succeeded = [o for o in outcomes if o.succeeded]
    if succeeded:
        await session.execute(
            update(table)
            .where(*_BY_LEASE)
            .values(
                status="succeeded",
                completed_at=now,
                attempt_count=table.c.attempt_count + 1,
                last_status_code=bindparam("b_code"),
                last_error=None,
                **released,
            ),
            [
                {"b_id": o.claimed.delivery_id, "b_token": o.claimed.lease_token, "b_code": o.status_code}
                for o in succeeded
            ],
        )
        await session.execute(
            update(_ENDPOINT)
            .where(
                _ENDPOINT.c.id.in_({o.claimed.endpoint_id for o in succeeded}),
                _ENDPOINT.c.failing_since.is_not(None),
            )
            .values(failing_since=None)
        )
    failed = [o for o in outcomes if not o.succeeded]
    if failed:
        await _record_failures(session, failed, settings=settings, now=now, released=released)


async def _record_failures(
    session: AsyncSession, failed: list[Outcome], *, settings: Settings, now: datetime, released: dict[str, Any]
) -> None:
    table = _DELIVERY
    counts: dict[str, int] = dict(
        (await session.execute(select(table.c.id, table.c.attempt_count).where(
            table.c.id.in_([o.claimed.delivery_id for o in failed])
        ))).all()
    )  # fmt: skip
    endpoints = {
        e.id: e
        for e in await session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id.in_({o.claimed.endpoint_id for o in failed}))
        )
    }
    quiet = timedelta(seconds=min(settings.delivery_disable_after_seconds, _STREAK_GAP_S))
    rows = []
    for outcome in failed:
        attempt_count = counts.get(outcome.claimed.delivery_id, 0) + 1
        gone = outcome.status_code == HTTPStatus.GONE
        delay = None if gone else _next_delay(attempt_count, settings.retry_delays, outcome.retry_after_s)
        rows.append(
            {
                "b_id": outcome.claimed.delivery_id,
                "b_token": outcome.claimed.lease_token,
                "b_count": attempt_count,
                "b_status": "failed" if delay is None else "pending",
                "b_next": now + timedelta(seconds=delay or 0),
                "b_completed": now if delay is None else None,
                "b_code": outcome.status_code,
                "b_error": outcome.error,
            }
        )
        endpoint = endpoints.get(outcome.claimed.endpoint_id)
        if endpoint is not None and endpoint.status == "enabled":
            # A streak of failures, not the first failure after a quiet spell, counts towards disabling.
            last = endpoint.last_failure_at
            if endpoint.failing_since is None or last is None or now - last > quiet:
                endpoint.failing_since = now
            endpoint.last_failure_at = now
            if gone:
                await _disable(session, endpoint, "the endpoint answered 410 Gone", now)
            elif now - endpoint.failing_since >= timedelta(seconds=settings.delivery_disable_after_seconds):
                await _disable(session, endpoint, "every delivery failed for too long", now)
    await session.execute(
        update(table)
        .where(*_BY_LEASE)
        .values(
            status=bindparam("b_status"),
            attempt_count=bindparam("b_count"),
            next_attempt_at=bindparam("b_next", type_=UTCDateTime()),
            completed_at=bindparam("b_completed", type_=UTCDateTime()),
            last_status_code=bindparam("b_code"),
            last_error=bindparam("b_error"),
            **released,
        ),
        rows,
    )
