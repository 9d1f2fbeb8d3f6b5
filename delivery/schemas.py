"""Request and response bodies of the delivery slice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from core.openapi_completion import WebhookEvent

__all__ = (
    "TEST_EVENT",
    "AttemptOut",
    "DeliveryDetail",
    "DeliveryList",
    "DeliveryOut",
    "DeliveryStatus",
    "EndpointCreate",
    "EndpointCreated",
    "EndpointList",
    "EndpointOut",
    "EndpointUpdate",
    "RecoverRequest",
    "RecoverResult",
    "SecretRotated",
    "TestEventData",
)

EventType = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$", max_length=100)]
Url = Annotated[str, Meta(min_length=1, max_length=2_000)]
Rate = Annotated[float, Meta(ge=0.1, le=10_000, description="Requests per second, per worker process.")]


class EndpointCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    description: Annotated[str, Meta(max_length=500)] = ""
    event_types: Annotated[list[EventType], Meta(max_length=50)] = msgspec.field(default_factory=list)
    rate_limit_per_second: Rate | None = None


class EndpointUpdate(msgspec.Struct, forbid_unknown_fields=True):
    url: Url | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=500)] | UnsetType = UNSET
    event_types: Annotated[list[EventType], Meta(max_length=50)] | UnsetType = UNSET
    rate_limit_per_second: Rate | UnsetType | None = UNSET
    status: Literal["enabled", "disabled"] | UnsetType = UNSET
    recover_since: Annotated[datetime, Meta(tz=True)] | UnsetType = UNSET
    """With ``status: enabled``: also re-send what failed or was missed since this time."""


class EndpointOut(msgspec.Struct):
    id: str
    url: str
    description: str
    event_types: list[str]
    status: str
    disabled_reason: str | None
    rate_limit_per_second: float | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    secret: Annotated[str, Meta(description="The signing secret. Shown here and on rotation only.")]


class EndpointList(msgspec.Struct):
    items: list[EndpointOut]
    next_cursor: str | None


class SecretRotated(msgspec.Struct):
    secret: str
    previous_secret_expires_at: datetime


DeliveryStatus = Literal["pending", "succeeded", "failed"]


class AttemptOut(msgspec.Struct):
    id: str
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    response_body: Annotated[str, Meta(description="The first 2 KB of the response body.")]
    error: str | None


class DeliveryOut(msgspec.Struct):
    id: str
    message_id: str
    endpoint_id: str
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None


class DeliveryDetail(DeliveryOut):
    payload: dict[str, Any]
    attempts: list[AttemptOut]


class DeliveryList(msgspec.Struct):
    items: list[DeliveryOut]
    next_cursor: str | None


class RecoverRequest(msgspec.Struct, forbid_unknown_fields=True):
    since: Annotated[datetime, Meta(tz=True, description="Re-send what failed or was missed since this time.")]


class RecoverResult(msgspec.Struct):
    recovered: int


class TestEventData(msgspec.Struct):
    """The ``data`` of ``webhook.test`` (built by ``service.send_test_event``): who sent it, to which endpoint, when."""

    message: str
    workspace_id: str
    endpoint_id: str
    sent_at: datetime


TEST_EVENT = {
    "webhook.test": WebhookEvent(
        "Sent by POST /api/v1/endpoints/{endpoint_id}/test to this endpoint alone, to check it", (TestEventData,)
    )
}
"""The event this slice sends of its own accord, for the OpenAPI document's ``webhooks``."""
