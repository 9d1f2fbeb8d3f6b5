"""The settings page: the workspace's API keys (a new one shown once, revoking one) and the audit log."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.messages import editor_errors
from console.pages import PAGE_SIZE, page, page_revealing, reveal_after_redirect
from console.session import ConsoleUser, clear_cookie
from core.errors import Conflict, ValidationFailed
from core.settings import Settings
from workspaces import service as workspaces
from workspaces.schemas import Caller
from workspaces.sessions import Revealed

__all__ = ("key_create", "key_new", "key_revoke", "settings_page")


def _new_key_page(key_id: str) -> str:
    return f"/console/keys/{key_id}/new"


@get("/settings")
async def settings_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    cursor: FromQuery[str | None] = None,
) -> Template:
    return await _settings_page(request, db_session, user, cursor=cursor)


async def _settings_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    user: ConsoleUser,
    *,
    cursor: str | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
    key_name: str = "",
) -> Template:
    keys = await workspaces.list_api_keys(session, workspace_id=user.workspace_id)
    events, next_cursor = await workspaces.list_audit_events(
        session, workspace_id=user.workspace_id, limit=PAGE_SIZE, cursor=cursor
    )
    return page(
        request,
        "settings",
        user,
        status_code=status_code,
        keys=keys,
        prefixes={key.id: workspaces.key_display_prefix(key) for key in keys},
        # The audit log names a key as its actor: show the key's name beside it.
        actors={Caller(workspace_id=user.workspace_id, api_key_id=key.id).actor: key.name for key in keys},
        events=events,
        more=f"/console/settings?{urlencode({'cursor': next_cursor})}#audit" if next_cursor else None,
        errors=errors or [],
        key_name=key_name,
    )


@post("/keys", status_code=303)
async def key_create(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
) -> Response[Any]:
    name = str((await request.form()).get("name") or "").strip()
    try:
        key, plaintext = await workspaces.create_api_key(
            db_session, workspace_id=user.workspace_id, name=name, actor=user.caller.actor
        )
    except ValidationFailed as exc:
        return await _settings_page(
            request, db_session, user, errors=editor_errors(exc), status_code=422, key_name=name
        )
    return await reveal_after_redirect(db_session, user, _new_key_page(key.id), Revealed(plaintext))


@get("/keys/{key_id:str}/new")
async def key_new(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    key_id: FromPath[str],
) -> Response[Any]:
    key = await workspaces.get_api_key(db_session, workspace_id=user.workspace_id, key_id=key_id)
    shown = await page_revealing(request, user, _new_key_page(key.id), "new_key", key=key)
    return shown or Redirect("/console/settings?done=key_shown", status_code=303)


@post("/keys/{key_id:str}/revoke", status_code=303)
async def key_revoke(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
    key_id: FromPath[str],
) -> Response[Any]:
    try:
        await workspaces.revoke_api_key(
            db_session, workspace_id=user.workspace_id, key_id=key_id, actor=user.caller.actor
        )
    except Conflict as exc:
        return await _settings_page(request, db_session, user, errors=[str(exc.detail)], status_code=409)
    if key_id == user.api_key_id:  # this session's own key: the session ends with it
        return Redirect("/console/sign-in?done=own_key_revoked", status_code=303, cookies=[clear_cookie(app_settings)])
    return Redirect("/console/settings?done=key_revoked", status_code=303)
