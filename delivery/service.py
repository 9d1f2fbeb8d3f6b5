"""Webhook endpoints and the ``enqueue`` entry point other slices use, scoped to one workspace."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET
from sqlalchemy import String, cast, func, or_, select, update

from core.database import counts_per_day, utcnow
from core.errors import Conflict, FieldError, NotFound, ValidationFailed
from core.ids import new_id
from core.pagination import fetch_page
from core.times import aware_utc
from delivery.history import (
    attempts_past_retention,
    blank_attempt_bodies,
    get_delivery,
    list_deliveries,
    recover_endpoint,
    retry_delivery,
)
from delivery.models import Delivery, DeliveryAttempt, Message, WebhookEndpoint
from delivery.outbox import Event, enqueue, enqueue_many, forget_endpoints
from delivery.signing import new_secret, verify
from delivery.ssrf import NonPublicTargetError, UnsafeTargetError, check_endpoint_url
from workspaces import service as workspaces

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from core.settings import Settings
    from delivery.schemas import EndpointCreate, EndpointUpdate

__all__ = (
    "Event",
    "attempts_past_retention",
    "blank_attempt_bodies",
    "create_endpoint",
    "daily_outcomes",
    "delete_endpoint",
    "enqueue",
    "enqueue_many",
    "get_delivery",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "messages_mentioning",
    "new_secret",
    "queue_stats",
    "recover",
    "redact_messages",
    "retry_delivery",
    "rotate_secret",
    "send_test_event",
    "update_endpoint",
    "verify",
)


_PRIVATE_TARGETS_HINT = (
    # Worded so as to name no kind of address: a refused name must not tell what it resolves to.
    " (for local development only, LEADWIRE_ALLOW_PRIVATE_WEBHOOK_TARGETS=true allows addresses that are not public)"
)
_TEST_MESSAGE = "This is a test event sent from Leadwire to check that this endpoint receives and verifies webhooks."


async def _checked_url(url: str, settings: Settings) -> str:
    try:
        return await check_endpoint_url(url, allow_private=settings.allow_private_webhook_targets)
    except UnsafeTargetError as exc:
        message = str(exc)
        if isinstance(exc, NonPublicTargetError):
            # Testing against a receiver on this machine is the first thing people try: name the way to allow it.
            message += _PRIVATE_TARGETS_HINT
        raise ValidationFailed([FieldError("url", "unsafe_url", message)]) from exc


async def create_endpoint(
    session: AsyncSession, *, workspace_id: str, data: EndpointCreate, settings: Settings, actor: str
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint after the SSRF check. Returns it and its secret, shown to the caller once."""
    url = await _checked_url(data.url, settings)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=new_id("ep"),
        workspace_id=workspace_id,
        url=url,
        description=data.description.strip(),
        event_types=sorted(set(data.event_types)),
        secrets=[{"secret": secret, "expires_at": None}],
        rate_limit_per_second=data.rate_limit_per_second,
    )
    session.add(endpoint)
    await session.flush()
    forget_endpoints(session)
    await workspaces.record_audit(
        session, workspace_id=workspace_id, actor=actor, action="endpoint.created", target_type="webhook_endpoint",
        target_id=endpoint.id, details={"url": url},
    )  # fmt: skip
    return endpoint, secret


async def get_endpoint(
    session: AsyncSession, *, workspace_id: str, endpoint_id: str, for_update: bool = False
) -> WebhookEndpoint:
    """The workspace's endpoint; another workspace's is :class:`NotFound`."""
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id,
        WebhookEndpoint.workspace_id == workspace_id,
        WebhookEndpoint.deleted_at.is_(None),
    )
    endpoint = await session.scalar(statement.with_for_update() if for_update else statement)
    if endpoint is None:
        raise NotFound(f"no endpoint {endpoint_id}")
    return endpoint


async def list_endpoints(
    session: AsyncSession, *, workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[WebhookEndpoint], str | None]:
    """One page of the workspace's endpoints, newest first."""
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.deleted_at.is_(None)
    )
    return await fetch_page(session, statement, id_column=WebhookEndpoint.id, limit=limit, cursor=cursor)


async def update_endpoint(
    session: AsyncSession,
    *,
    workspace_id: str,
    endpoint_id: str,
    data: EndpointUpdate,
    settings: Settings,
    actor: str,
) -> WebhookEndpoint:
    """Change an endpoint. Disabling keeps its deliveries pending; enabling sends them again."""
    endpoint = await get_endpoint(session, workspace_id=workspace_id, endpoint_id=endpoint_id, for_update=True)
    changes: dict[str, Any] = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not UNSET}
    recover_since = aware_utc(changes.pop("recover_since", None), "recover_since")
    if recover_since is not None and changes.get("status", endpoint.status) != "enabled":
        raise ValidationFailed([FieldError("recover_since", "not_allowed", "recovery needs the endpoint enabled")])
    if "url" in changes:
        changes["url"] = await _checked_url(changes["url"], settings)
    if "event_types" in changes:
        changes["event_types"] = sorted(set(changes["event_types"]))
    if "description" in changes:
        changes["description"] = changes["description"].strip()
    if changes.get("status") == "enabled":
        changes["disabled_reason"] = None
        changes["failing_since"] = None
    elif changes.get("status") == "disabled" and endpoint.status != "disabled":
        changes["disabled_reason"] = "disabled through the API"
    for key, value in changes.items():
        setattr(endpoint, key, value)
    endpoint.updated_at = utcnow()
    forget_endpoints(session)
    details: dict[str, Any] = {"changed": sorted(changes)}
    if recover_since is not None:
        details["recovered"] = await recover_endpoint(session, endpoint=endpoint, since=recover_since)
    await workspaces.record_audit(
        session, workspace_id=workspace_id, actor=actor, action="endpoint.updated", target_type="webhook_endpoint",
        target_id=endpoint.id, details=details,
    )  # fmt: skip
    return endpoint


async def recover(session: AsyncSession, *, workspace_id: str, endpoint_id: str, since: datetime, actor: str) -> int:
    """Re-send everything that failed for the endpoint, or that it missed, since ``since``; returns how many."""
    endpoint = await get_endpoint(session, workspace_id=workspace_id, endpoint_id=endpoint_id, for_update=True)
    count = await recover_endpoint(session, endpoint=endpoint, since=since)
    await workspaces.record_audit(
        session, workspace_id=workspace_id, actor=actor, action="endpoint.recovered", target_type="webhook_endpoint",
        target_id=endpoint.id, details={"since": since.isoformat(), "recovered": count},
    )  # fmt: skip
    return count


async def delete_endpoint(session: AsyncSession, *, workspace_id: str, endpoint_id: str, actor: str) -> None:
    """Delete an endpoint: nothing more is sent to it; what was still pending fails; its history stays."""
    endpoint = await get_endpoint(session, workspace_id=workspace_id, endpoint_id=endpoint_id, for_update=True)
    endpoint.deleted_at = now = utcnow()
    await session.execute(
        update(Delivery)
        .where(Delivery.endpoint_id == endpoint.id, Delivery.status == "pending")
        # Clearing the lease too: a request in flight right now records its attempt, but may no longer move the
        # delivery (only the lease holder may), so it cannot bring it back to pending for a deleted endpoint.
        .values(
            status="failed",
            last_error="the endpoint was deleted",
            completed_at=now,
            updated_at=now,
            lease_token=None,
            lease_expires_at=None,
        )
    )
    forget_endpoints(session)
    await workspaces.record_audit(
        session, workspace_id=workspace_id, actor=actor, action="endpoint.deleted", target_type="webhook_endpoint",
        target_id=endpoint.id,
    )  # fmt: skip


async def rotate_secret(
    session: AsyncSession, *, workspace_id: str, endpoint_id: str, settings: Settings, actor: str
) -> tuple[str, str]:
    """Start signing with a new secret; the current one keeps signing beside it for the overlap period.

    Returns:
        The new secret and the ISO time at which the previous one stops signing.
    """
    endpoint = await get_endpoint(session, workspace_id=workspace_id, endpoint_id=endpoint_id)
    now = utcnow()
    expires = (now + timedelta(seconds=settings.secret_rotation_overlap_seconds)).isoformat()
    secret = new_secret()
    kept = [
        {"secret": entry["secret"], "expires_at": entry["expires_at"] or expires}
        for entry in endpoint.secrets
        if entry["expires_at"] is None or entry["expires_at"] > now.isoformat()
    ]
    endpoint.secrets = [{"secret": secret, "expires_at": None}, *kept]
    endpoint.updated_at = now
    await workspaces.record_audit(
        session, workspace_id=workspace_id, actor=actor, action="endpoint.secret_rotated",
        target_type="webhook_endpoint", target_id=endpoint.id, details={"previous_expires_at": expires},
    )  # fmt: skip
    return secret, expires


async def send_test_event(session: AsyncSession, *, workspace_id: str, endpoint_id: str) -> str:
    """Enqueue a ``webhook.test`` event for this endpoint alone; returns the message id.

    Raises:
        Conflict: The endpoint is disabled, so nothing would be sent.
    """
    endpoint = await get_endpoint(session, workspace_id=workspace_id, endpoint_id=endpoint_id)
    if endpoint.status != "enabled":
        raise Conflict("the endpoint is disabled; enable it to send a test event")
    # Enough for a receiver to tell a test from a lead and to check its wiring: who sent it, to which endpoint, when.
    payload = {
        "message": _TEST_MESSAGE,
        "workspace_id": workspace_id,
        "endpoint_id": endpoint.id,
        "sent_at": utcnow().isoformat().replace("+00:00", "Z"),
    }
    message = await enqueue(
        session, workspace_id=workspace_id, event_type="webhook.test", payload=payload, only_endpoint_id=endpoint.id
    )
    return message.id


async def messages_mentioning(session: AsyncSession, *, workspace_id: str, needles: list[str]) -> list[str]:
    """The ids of the workspace's messages whose payload contains any of ``needles`` (e.g. a lead's id)."""
    if not needles:
        return []
    text = cast(Message.payload, String)
    rows = await session.scalars(
        select(Message.id).where(
            Message.workspace_id == workspace_id, or_(*(text.contains(n, autoescape=True) for n in needles))
        )
    )
    return list(rows)


async def redact_messages(
    session: AsyncSession, *, workspace_id: str, message_ids: list[str], payload: dict[str, Any], reason: str
) -> None:
    """Replace the payload of these messages, and stop their pending deliveries: erased data is never sent again.

    The attempts' stored response bodies go too, in case a receiver echoed what it was sent.
    """
    if not message_ids:
        return
    now = utcnow()
    await session.execute(
        update(Message).where(Message.workspace_id == workspace_id, Message.id.in_(message_ids)).values(payload=payload)
    )
    await session.execute(
        update(Delivery)
        .where(
            Delivery.workspace_id == workspace_id, Delivery.message_id.in_(message_ids), Delivery.status == "pending"
        )
        .values(
            status="failed",
            last_error=reason[:500],
            completed_at=now,
            updated_at=now,
            lease_token=None,
            lease_expires_at=None,
        )
    )
    deliveries = select(Delivery.id).where(Delivery.message_id.in_(message_ids))
    await session.execute(
        update(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(deliveries)).values(response_body="")
    )


async def daily_outcomes(session: AsyncSession, *, workspace_id: str, since: datetime) -> list[tuple[str, str, int]]:
    """Deliveries per day (``YYYY-MM-DD``, UTC, of their creation) and status since a time: for the console."""
    return await counts_per_day(
        session,
        Delivery.created_at,
        Delivery.status,
        Delivery.workspace_id == workspace_id,
        Delivery.created_at >= since,
    )


async def queue_stats(session: AsyncSession, *, now: datetime) -> tuple[int, float]:
    """How many deliveries are pending, and how long the oldest due one has waited (seconds, 0 if none is due)."""
    row = (
        await session.execute(
            select(func.count(), func.min(Delivery.next_attempt_at)).where(Delivery.status == "pending")
        )
    ).one()
    depth = int(row[0] or 0)
    oldest: datetime | None = row[1]  # no pending delivery: min() of nothing is NULL
    if oldest is None:
        return depth, 0.0
    return depth, max(0.0, (now - oldest).total_seconds())
