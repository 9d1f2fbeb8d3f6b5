"""The webhooks and deliveries pages: endpoints (add, secret shown once, rotate, test, enable or disable, recover a
day's deliveries) and each delivery with its attempts, retried on request."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.messages import editor_errors
from console.pages import OUTCOMES, PAGE_SIZE, page, page_revealing, reveal_after_redirect, utc_day
from console.session import ConsoleUser
from core.errors import Conflict, NotFound, ValidationFailed
from core.settings import Settings
from delivery import service as delivery
from delivery.schemas import EndpointCreate, EndpointUpdate
from workspaces.sessions import Revealed

if TYPE_CHECKING:
    from delivery.models import WebhookEndpoint

__all__ = (
    "deliveries_list",
    "delivery_page",
    "delivery_retry",
    "endpoint_create",
    "endpoint_page",
    "endpoint_recover",
    "endpoint_rotate",
    "endpoint_secret",
    "endpoint_status",
    "endpoint_test",
    "webhooks",
)


async def _endpoints_of(session: AsyncSession, user: ConsoleUser) -> list[WebhookEndpoint]:
    """The workspace's endpoints for lists and pickers (the first 100, newest first)."""
    found, _ = await delivery.list_endpoints(session, workspace_id=user.workspace_id, limit=100, cursor=None)
    return found


@get("/webhooks", opt={"permission": "endpoints:read"})
async def webhooks(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Template:
    return page(request, "webhooks", user, endpoints=await _endpoints_of(db_session, user), errors=[], url="")


@post("/webhooks", status_code=303, opt={"permission": "endpoints:write"})
async def endpoint_create(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Response[Any]:
    posted = await request.form()
    url = str(posted.get("url") or "").strip()
    description = str(posted.get("description") or "").strip()
    try:
        data = msgspec.convert({"url": url, "description": description}, EndpointCreate)
        endpoint, secret = await delivery.create_endpoint(
            db_session, workspace_id=user.workspace_id, data=data, settings=app_settings, actor=user.caller.actor
        )
    except (ValidationFailed, msgspec.ValidationError) as exc:
        endpoints = await _endpoints_of(db_session, user)
        return page(request, "webhooks", user, status_code=422, endpoints=endpoints, errors=editor_errors(exc), url=url)
    return await reveal_after_redirect(db_session, user, _secret_page(endpoint.id), Revealed(secret))


def _secret_page(endpoint_id: str) -> str:
    return f"/console/webhooks/{endpoint_id}/secret"


@get("/webhooks/{endpoint_id:str}/secret", opt={"permission": "endpoints:write"})
async def endpoint_secret(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    endpoint_id: FromPath[str],
) -> Response[Any]:
    endpoint = await delivery.get_endpoint(db_session, workspace_id=user.workspace_id, endpoint_id=endpoint_id)
    shown = await page_revealing(request, user, _secret_page(endpoint.id), "secret", endpoint=endpoint)
    return shown or Redirect(f"/console/webhooks/{endpoint.id}?done=secret_shown", status_code=303)


async def _endpoint_page(
    request: Request[Any, Any, Any], session: AsyncSession, user: ConsoleUser, endpoint_id: str, **extra: Any
) -> Template:
    endpoint = await delivery.get_endpoint(session, workspace_id=user.workspace_id, endpoint_id=endpoint_id)
    recent, _ = await delivery.list_deliveries(
        session,
        workspace_id=user.workspace_id,
        endpoint_id=endpoint.id,
        status=None,
        event_type=None,
        since=None,
        until=None,
        limit=10,
        cursor=None,
    )
    return page(request, "endpoint", user, endpoint=endpoint, recent=recent, errors=extra.pop("errors", []), **extra)


@get("/webhooks/{endpoint_id:str}", opt={"permission": "endpoints:read"})
async def endpoint_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    endpoint_id: FromPath[str],
) -> Template:
    return await _endpoint_page(request, db_session, user, endpoint_id)


@post("/webhooks/{endpoint_id:str}/rotate", status_code=303, opt={"permission": "endpoints:write"})
async def endpoint_rotate(
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
    endpoint_id: FromPath[str],
) -> Redirect:
    secret, expires = await delivery.rotate_secret(
        db_session,
        workspace_id=user.workspace_id,
        endpoint_id=endpoint_id,
        settings=app_settings,
        actor=user.caller.actor,
    )
    return await reveal_after_redirect(db_session, user, _secret_page(endpoint_id), Revealed(secret, expires))


@post("/webhooks/{endpoint_id:str}/test", status_code=303, opt={"permission": "endpoints:write"})
async def endpoint_test(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    endpoint_id: FromPath[str],
) -> Response[Any]:
    try:
        await delivery.send_test_event(db_session, workspace_id=user.workspace_id, endpoint_id=endpoint_id)
    except Conflict as exc:
        return await _endpoint_page(request, db_session, user, endpoint_id, errors=[str(exc.detail)])
    return Redirect(f"/console/webhooks/{endpoint_id}?done=test_sent", status_code=303)


@post("/webhooks/{endpoint_id:str}/status", status_code=303, opt={"permission": "endpoints:write"})
async def endpoint_status(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
    endpoint_id: FromPath[str],
) -> Response[Any]:
    status = str((await request.form()).get("status") or "")
    if status not in {"enabled", "disabled"}:
        return Redirect(f"/console/webhooks/{endpoint_id}", status_code=303)
    await delivery.update_endpoint(
        db_session,
        workspace_id=user.workspace_id,
        endpoint_id=endpoint_id,
        data=EndpointUpdate(status=status),  # type: ignore[arg-type]
        settings=app_settings,
        actor=user.caller.actor,
    )
    return Redirect(f"/console/webhooks/{endpoint_id}?done={status}", status_code=303)


@post("/webhooks/{endpoint_id:str}/recover", status_code=303, opt={"permission": "endpoints:write"})
async def endpoint_recover(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    endpoint_id: FromPath[str],
) -> Response[Any]:
    since = utc_day(str((await request.form()).get("since") or ""))
    if since is None:
        return await _endpoint_page(request, db_session, user, endpoint_id, errors=["Choose the day to recover from."])
    count = await delivery.recover(
        db_session, workspace_id=user.workspace_id, endpoint_id=endpoint_id, since=since, actor=user.caller.actor
    )
    return Redirect(f"/console/deliveries?{urlencode({'endpoint': endpoint_id, 'recovered': count})}", status_code=303)


@get("/deliveries", opt={"permission": "deliveries:read"})
async def deliveries_list(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    status: FromQuery[str] = "",
    endpoint: FromQuery[str] = "",
    cursor: FromQuery[str | None] = None,
    recovered: FromQuery[int | None] = None,
) -> Template:
    endpoints = await _endpoints_of(db_session, user)
    urls = {e.id: e.url for e in endpoints}
    rows, next_cursor = await delivery.list_deliveries(
        db_session,
        workspace_id=user.workspace_id,
        endpoint_id=endpoint if endpoint in urls else None,
        status=status if status in {s.key for s in OUTCOMES} else None,
        event_type=None,
        since=None,
        until=None,
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    filters = {"status": status, "endpoint": endpoint}
    more = f"/console/deliveries?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else None
    return page(
        request,
        "deliveries",
        user,
        rows=rows,
        urls=urls,
        filters=filters,
        statuses=OUTCOMES,
        endpoints=endpoints,
        more=more,
        recovered=recovered,
    )


@get("/deliveries/{delivery_id:str}", opt={"permission": "deliveries:read"})
async def delivery_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    delivery_id: FromPath[str],
) -> Template:
    row, message, attempts = await delivery.get_delivery(
        db_session, workspace_id=user.workspace_id, delivery_id=delivery_id
    )
    try:
        endpoint = await delivery.get_endpoint(db_session, workspace_id=user.workspace_id, endpoint_id=row.endpoint_id)
    except NotFound:
        endpoint = None  # deleted since: the delivery's history stays readable
    payload = json.dumps(message.payload, indent=2, ensure_ascii=False)
    return page(
        request, "delivery", user, delivery=row, message=message, attempts=attempts, endpoint=endpoint, payload=payload
    )


@post("/deliveries/{delivery_id:str}/retry", status_code=303, opt={"permission": "deliveries:write"})
async def delivery_retry(
    db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser], delivery_id: FromPath[str]
) -> Redirect:
    try:
        await delivery.retry_delivery(db_session, workspace_id=user.workspace_id, delivery_id=delivery_id)
    except Conflict:
        return Redirect(f"/console/deliveries/{delivery_id}?done=not_retried", status_code=303)
    return Redirect(f"/console/deliveries/{delivery_id}?done=retried", status_code=303)
