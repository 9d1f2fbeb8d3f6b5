"""The settings page (owners and admins): the workspace's API keys (a new one shown once, revoking one) and the audit
log, which owners can download."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.messages import editor_errors
from console.pages import HEADERS, PAGE_SIZE, page, page_revealing, reveal_after_redirect
from console.session import ConsoleUser
from core.errors import Conflict, Forbidden, ValidationFailed
from workspaces import keys as api_keys
from workspaces import members
from workspaces import service as workspaces
from workspaces.audit import audit_csv
from workspaces.roles import KEY_SCOPES, Scope, scopes_of_role
from workspaces.sessions import Revealed

__all__ = ("audit_export", "key_create", "key_new", "key_revoke", "settings_page")


def _new_key_page(key_id: str) -> str:
    return f"/console/keys/{key_id}/new"


@get("/settings", opt={"permission": "keys:read"})
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
    keys = await api_keys.list_api_keys(session, workspace_id=user.workspace_id)
    events, next_cursor = await workspaces.list_audit_events(
        session, workspace_id=user.workspace_id, limit=PAGE_SIZE, cursor=cursor
    )
    people = {
        found.member.id: found.member.name
        for found in await members.list_members(session, workspace_id=user.workspace_id)
    }
    return page(
        request,
        "settings",
        user,
        status_code=status_code,
        keys=keys,
        prefixes={key.id: api_keys.key_display_prefix(key) for key in keys},
        people=people,
        # The audit log names a key or a member as its actor: show their names instead.
        actors={
            **{f"api_key:{key.id}": f"key {key.name}" for key in keys},
            **{f"member:{member_id}": name for member_id, name in people.items()},
        },
        scopes=KEY_SCOPES,
        my_scopes=scopes_of_role(user.role),
        events=events,
        more=f"/console/settings?{urlencode({'cursor': next_cursor})}#audit" if next_cursor else None,
        errors=errors or [],
        key_name=key_name,
    )


@post("/keys", status_code=303, opt={"permission": "keys:write"})
async def key_create(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
) -> Response[Any]:
    form = await request.form()
    name = str(form.get("name") or "").strip()
    wanted = [str(scope) for scope in form.getall("scopes")] if "scopes" in form else []
    scopes: list[Scope] = [scope for scope in KEY_SCOPES if scope in wanted]
    if not scopes and "scopes_chosen" not in form:
        scopes = sorted(scopes_of_role(user.role), key=KEY_SCOPES.index)  # a post without the boxes: all it may
    if not scopes:
        errors = ["Choose at least one scope."]
        return await _settings_page(request, db_session, user, errors=errors, status_code=422, key_name=name)
    try:
        key, plaintext = await api_keys.create_api_key(
            db_session,
            workspace_id=user.workspace_id,
            name=name,
            actor=user.caller.actor,
            creator=user.caller,
            kind="service" if form.get("kind") == "service" else "member",
            scopes=scopes,
            forms_only=form.get("forms_only") == "on",
        )
    except (ValidationFailed, Forbidden) as exc:
        errors = editor_errors(exc) if isinstance(exc, ValidationFailed) else [str(exc.detail)]
        return await _settings_page(request, db_session, user, errors=errors, status_code=422, key_name=name)
    return await reveal_after_redirect(db_session, user, _new_key_page(key.id), Revealed(plaintext))


@get("/keys/{key_id:str}/new", opt={"permission": "keys:write"})
async def key_new(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    key_id: FromPath[str],
) -> Response[Any]:
    key = await api_keys.get_api_key(db_session, workspace_id=user.workspace_id, key_id=key_id)
    shown = await page_revealing(request, user, _new_key_page(key.id), "new_key", key=key)
    return shown or Redirect("/console/settings?done=key_shown", status_code=303)


@post("/keys/{key_id:str}/revoke", status_code=303, opt={"permission": "keys:write"})
async def key_revoke(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    key_id: FromPath[str],
) -> Response[Any]:
    try:
        await api_keys.revoke_api_key(
            db_session, workspace_id=user.workspace_id, key_id=key_id, actor=user.caller.actor
        )
    except Conflict as exc:
        return await _settings_page(request, db_session, user, errors=[str(exc.detail)], status_code=409)
    return Redirect("/console/settings?done=key_revoked", status_code=303)


@get("/settings/audit.csv", opt={"permission": "audit:export"})
async def audit_export(request: Request[Any, Any, Any], user: NamedDependency[ConsoleUser]) -> Stream:
    """The whole audit log as CSV (owners), the export itself recorded first."""
    db = request.app.state.db
    async with db.session(write=True) as session:  # this GET's own transaction only reads
        await workspaces.record_audit(
            session,
            workspace_id=user.workspace_id,
            actor=user.caller.actor,
            action="audit.exported",
            target_type="workspace",
            target_id=user.workspace_id,
        )
    return Stream(
        audit_csv(db, workspace_id=user.workspace_id),
        media_type="text/csv; charset=utf-8",
        headers={**HEADERS, "Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )
