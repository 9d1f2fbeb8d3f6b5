"""Admin API of the delivery slice: ``/api/v1/endpoints``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import utcnow
from core.metrics import CONTENT_TYPE
from core.pagination import DEFAULT_LIMIT, Limit
from core.settings import Settings
from core.times import aware_utc
from delivery import service
from delivery.schemas import (
    AttemptOut,
    DeliveryDetail,
    DeliveryList,
    DeliveryOut,
    DeliveryStatus,
    EndpointCreate,
    EndpointCreated,
    EndpointList,
    EndpointOut,
    EndpointUpdate,
    RecoverRequest,
    RecoverResult,
    SecretRotated,
)
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from core.metrics import Metrics
    from delivery.models import Delivery, WebhookEndpoint

__all__ = ("DeliveryController", "EndpointController", "metrics")


def _endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=endpoint.event_types,
        status=endpoint.status,
        disabled_reason=endpoint.disabled_reason,
        rate_limit_per_second=endpoint.rate_limit_per_second,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def _delivery_out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        message_id=delivery.message_id,
        endpoint_id=delivery.endpoint_id,
        event_type=delivery.event_type,
        status=delivery.status,  # type: ignore[arg-type]  # the column holds only DeliveryStatus values
        attempt_count=delivery.attempt_count,
        next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        completed_at=delivery.completed_at,
    )


class EndpointController(Controller):
    """Where the workspace's events go."""

    path = "/endpoints"
    tags = ["webhooks"]  # noqa: RUF012

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Register a webhook endpoint; its secret is shown only here",
        opt={"permission": "endpoints:write"},
    )
    async def create_endpoint(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
        data: JSONBody[EndpointCreate],
    ) -> Response[EndpointCreated]:
        endpoint, secret = await service.create_endpoint(
            db_session, workspace_id=caller.workspace_id, data=data, settings=app_settings, actor=caller.actor
        )
        created = EndpointCreated(**msgspec.structs.asdict(_endpoint_out(endpoint)), secret=secret)
        return Response(created, status_code=HTTP_201_CREATED, headers={"Location": f"/api/v1/endpoints/{endpoint.id}"})

    @get("/", summary="List webhook endpoints", opt={"permission": "endpoints:read"})
    async def list_endpoints(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> EndpointList:
        endpoints, next_cursor = await service.list_endpoints(
            db_session, workspace_id=caller.workspace_id, limit=limit, cursor=cursor
        )
        return EndpointList(items=[_endpoint_out(e) for e in endpoints], next_cursor=next_cursor)

    @get("/{endpoint_id:str}", summary="Get a webhook endpoint", opt={"permission": "endpoints:read"})
    async def get_endpoint(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], endpoint_id: FromPath[str]
    ) -> EndpointOut:
        endpoint = await service.get_endpoint(db_session, workspace_id=caller.workspace_id, endpoint_id=endpoint_id)
        return _endpoint_out(endpoint)

    @patch(
        "/{endpoint_id:str}",
        summary="Change, disable or re-enable a webhook endpoint",
        opt={"permission": "endpoints:write"},
    )
    async def update_endpoint(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
        endpoint_id: FromPath[str],
        data: JSONBody[EndpointUpdate],
    ) -> EndpointOut:
        endpoint = await service.update_endpoint(
            db_session,
            workspace_id=caller.workspace_id,
            endpoint_id=endpoint_id,
            data=data,
            settings=app_settings,
            actor=caller.actor,
        )
        return _endpoint_out(endpoint)

    @delete("/{endpoint_id:str}", summary="Delete a webhook endpoint", opt={"permission": "endpoints:write"})
    async def delete_endpoint(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], endpoint_id: FromPath[str]
    ) -> None:
        await service.delete_endpoint(
            db_session, workspace_id=caller.workspace_id, endpoint_id=endpoint_id, actor=caller.actor
        )

    @post(
        "/{endpoint_id:str}/rotate-secret",
        status_code=200,
        summary="Rotate the signing secret with overlap",
        opt={"permission": "endpoints:write"},
    )
    async def rotate_secret(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
        endpoint_id: FromPath[str],
    ) -> SecretRotated:
        secret, expires = await service.rotate_secret(
            db_session,
            workspace_id=caller.workspace_id,
            endpoint_id=endpoint_id,
            settings=app_settings,
            actor=caller.actor,
        )
        return SecretRotated(secret=secret, previous_secret_expires_at=datetime.fromisoformat(expires))

    @post(
        "/{endpoint_id:str}/test",
        status_code=HTTP_202_ACCEPTED,
        summary="Send a webhook.test event",
        opt={"permission": "endpoints:write"},
    )
    async def send_test(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], endpoint_id: FromPath[str]
    ) -> Response[dict[str, str]]:
        message_id = await service.send_test_event(
            db_session, workspace_id=caller.workspace_id, endpoint_id=endpoint_id
        )
        return Response({"message_id": message_id}, status_code=HTTP_202_ACCEPTED)

    @post(
        "/{endpoint_id:str}/recover",
        status_code=200,
        summary="Re-send what failed or was missed since a time",
        opt={"permission": "endpoints:write"},
    )
    async def recover(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        endpoint_id: FromPath[str],
        data: JSONBody[RecoverRequest],
    ) -> RecoverResult:
        count = await service.recover(
            db_session,
            workspace_id=caller.workspace_id,
            endpoint_id=endpoint_id,
            since=aware_utc(data.since, "since"),
            actor=caller.actor,
        )
        return RecoverResult(recovered=count)


class DeliveryController(Controller):
    """What was sent where, every attempt, and sending again."""

    path = "/deliveries"
    tags = ["webhooks"]  # noqa: RUF012

    @get("/", summary="List deliveries, newest first", opt={"permission": "deliveries:read"})
    async def list_deliveries(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        endpoint_id: FromQuery[str | None] = None,
        status: FromQuery[DeliveryStatus | None] = None,
        event_type: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> DeliveryList:
        deliveries, next_cursor = await service.list_deliveries(
            db_session,
            workspace_id=caller.workspace_id,
            endpoint_id=endpoint_id,
            status=status,
            event_type=event_type,
            since=aware_utc(since, "query.since"),
            until=aware_utc(until, "query.until"),
            limit=limit,
            cursor=cursor,
        )
        return DeliveryList(items=[_delivery_out(d) for d in deliveries], next_cursor=next_cursor)

    @get(
        "/{delivery_id:str}",
        summary="A delivery with its payload and every attempt",
        opt={"permission": "deliveries:read"},
    )
    async def get_delivery(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], delivery_id: FromPath[str]
    ) -> DeliveryDetail:
        delivery, message, attempts = await service.get_delivery(
            db_session, workspace_id=caller.workspace_id, delivery_id=delivery_id
        )
        return DeliveryDetail(
            **msgspec.structs.asdict(_delivery_out(delivery)),
            payload=message.payload,
            attempts=[
                AttemptOut(
                    id=a.id,
                    attempted_at=a.attempted_at,
                    status_code=a.status_code,
                    duration_ms=a.duration_ms,
                    response_body=a.response_body,
                    error=a.error,
                )
                for a in attempts
            ],
        )

    @post(
        "/{delivery_id:str}/retry",
        status_code=HTTP_202_ACCEPTED,
        summary="Send a delivery again now",
        opt={"permission": "deliveries:write"},
    )
    async def retry(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], delivery_id: FromPath[str]
    ) -> DeliveryOut:
        delivery = await service.retry_delivery(db_session, workspace_id=caller.workspace_id, delivery_id=delivery_id)
        return _delivery_out(delivery)


@get("/metrics", summary="Prometheus metrics", tags=["operations"], media_type=CONTENT_TYPE, include_in_schema=False)
async def metrics(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    """This process's counters, plus the delivery queue as the database sees it (the same from every process)."""
    registry: Metrics = request.app.state.metrics
    depth, oldest = await service.queue_stats(db_session, now=utcnow())
    registry.queue_depth.set(depth)
    registry.oldest_due_seconds.set(oldest)
    return Response(registry.exposition(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
