"""A new source: its kind and form chosen, what that kind needs asked for, and its URL and secrets shown once (post,
redirect, get: the secrets cross the redirect encrypted in the session's row, as a new API key does)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.pages import page, reveal_after_redirect
from console.session import ConsoleUser
from console.source_editor import AUTH_TYPES, creation_values, pull_credentials, takes_secret, words_for
from console.source_views import kind_of, secret_label, setup_html, source_url
from core.errors import NotFound, ValidationFailed
from core.settings import Settings
from forms import service as forms
from ingest.sources import service
from ingest.sources.providers import PROVIDERS
from ingest.sources.schemas import SourceCreate
from workspaces import sessions as console_sessions
from workspaces.sessions import Revealed

if TYPE_CHECKING:
    from core.database import Database
    from forms.models import Form
    from ingest.sources.providers import Provider

__all__ = ("source_create", "source_created", "source_new")

_NOT_SHOWN_BACK = frozenset({"pull"})
"""Pull credentials were typed by the user and are not shown back (as in the API)."""
_SECRET_ORDER = ("auth_username", "auth_secret", "whsec", "google_key", "meta_verify_token")


def _created_path(source_id: str) -> str:
    return f"/console/sources/{source_id}/created"


def _new_page(
    request: Request[Any, Any, Any],
    user: ConsoleUser,
    kind: Provider,
    form: Form,
    *,
    values: dict[str, Any],
    errors: list[str],
    status_code: int = 200,
) -> Template:
    return page(
        request,
        "source_new",
        user,
        status_code=status_code,
        errors=errors,
        kind=kind,
        form=form,
        setup=setup_html(kind),
        purposes=[c.purpose for c in forms.definition_of(form).consents],
        auth_types=AUTH_TYPES,
        takes_secret=takes_secret(kind),
        pull_names=pull_credentials(kind),
        values=values,
    )


@get("/sources/new", opt={"permission": "sources:write"})
async def source_new(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    kind: FromQuery[str] = "",
    form: FromQuery[str] = "",
) -> Response[Any]:
    if not kind or not form:
        return Redirect("/console/sources", status_code=303)
    if kind not in PROVIDERS:
        raise NotFound("no such kind of source")
    chosen = await forms.get_form(db_session, workspace_id=user.workspace_id, form_id=form)
    values = {"name": PROVIDERS[kind].label, "consent_purposes": []}
    return _new_page(request, user, PROVIDERS[kind], chosen, values=values, errors=[])


@post("/sources", status_code=303, opt={"permission": "sources:write"})
async def source_create(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Response[Any]:
    posted = await request.form()
    kind = PROVIDERS.get(str(posted.get("kind") or ""))
    if kind is None:
        raise NotFound("no such kind of source")
    chosen = await forms.get_form(db_session, workspace_id=user.workspace_id, form_id=str(posted.get("form") or ""))
    try:
        data = msgspec.convert(creation_values(posted, kind), SourceCreate)
        source = await service.create_source(
            db_session, workspace_id=user.workspace_id, data=data, actor=user.caller.actor
        )
    except (ValidationFailed, msgspec.ValidationError) as exc:
        # What was typed comes back, but no secret: it is typed again.
        values = {
            "name": str(posted.get("name") or ""),
            "consent_purposes": [str(p) for p in posted.getall("consent_purposes", [])],
            **{k: str(v) for k, v in posted.items() if k.startswith("auth_") and k not in {"auth_value"}},
        }
        return _new_page(request, user, kind, chosen, values=values, errors=words_for(exc), status_code=422)
    shown = {name: str(value) for name, value in source.secrets.items() if name not in _NOT_SHOWN_BACK}
    return await reveal_after_redirect(db_session, user, _created_path(source.id), Revealed(json.dumps(shown)))


@get("/sources/{source_id:str}/created", opt={"permission": "sources:write"})
async def source_created(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
    source_id: FromPath[str],
) -> Response[Any]:
    source = await service.get_source(db_session, workspace_id=user.workspace_id, source_id=source_id)
    # A GET's own transaction only reads: the secrets are taken out of the session's row in one of their own.
    db: Database = request.app.state.db
    async with db.session(write=True) as session:
        revealed = await console_sessions.take_reveal(session, user.session_id, path=_created_path(source.id))
    if revealed is None:  # shown already (a reload, the back button), late, or made for another session
        return Redirect(f"/console/sources/{source.id}?done=secrets_shown", status_code=303)
    found: dict[str, str] = json.loads(revealed.value)
    ordered = sorted(found, key=lambda n: (_SECRET_ORDER.index(n) if n in _SECRET_ORDER else len(_SECRET_ORDER), n))
    secrets = [(name, secret_label(source, name), found[name]) for name in ordered]
    kind = kind_of(source)
    return page(
        request,
        "source_created",
        user,
        source=source,
        kind=kind,
        setup=setup_html(kind),
        url=source_url(app_settings, source),
        secrets=secrets,
        pulls="pull" in source.secrets,
    )
