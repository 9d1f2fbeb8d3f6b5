"""Admin API of the forms slice: ``/api/v1/forms``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import BadRequest
from core.pagination import DEFAULT_LIMIT, Limit
from core.settings import Settings
from forms import service
from forms.schemas import FormCreate, FormList, FormOut, FormStatus, FormUpdate
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from forms.models import Form

__all__ = ("FormController", "form_out")

_ETAG = re.compile(r'(?:W/)?"v(\d+)"')


def form_out(form: Form, settings: Settings) -> FormOut:
    """The API view of a form."""
    definition = service.definition_of(form)
    return FormOut(
        id=form.id,
        name=form.name,
        slug=form.slug,
        status=form.status,  # type: ignore[arg-type]
        version=form.version,
        fields=definition.fields,
        consents=definition.consents,
        settings=definition.settings,
        public_url=f"{settings.public_base_url.rstrip('/')}/f/{form.slug}",
        created_at=form.created_at,
        updated_at=form.updated_at,
    )


def _with_etag(form: Form, settings: Settings, status_code: int = 200) -> Response[FormOut]:
    headers = {"ETag": f'"v{form.version}"'}
    if status_code == HTTP_201_CREATED:
        headers["Location"] = f"/api/v1/forms/{form.id}"
    return Response(form_out(form, settings), status_code=status_code, headers=headers)


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    match = _ETAG.fullmatch(if_match.strip())
    if match is None:
        raise BadRequest('If-Match must be an ETag of this API, like "v3"')
    return int(match.group(1))


class FormController(Controller):
    """Create, read, change and delete the workspace's forms."""

    path = "/forms"
    tags = ["forms"]  # noqa: RUF012

    @post("/", status_code=HTTP_201_CREATED, summary="Create a form", opt={"permission": "forms:write"})
    async def create_form(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
        data: JSONBody[FormCreate],
    ) -> Response[FormOut]:
        form = await service.create_form(db_session, workspace_id=caller.workspace_id, data=data, actor=caller.actor)
        return _with_etag(form, app_settings, HTTP_201_CREATED)

    @get("/", summary="List forms, newest first", opt={"permission": "forms:read"})
    async def list_forms(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
        status: FromQuery[FormStatus | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> FormList:
        forms, next_cursor = await service.list_forms(
            db_session, workspace_id=caller.workspace_id, status=status, limit=limit, cursor=cursor
        )
        return FormList(items=[form_out(form, app_settings) for form in forms], next_cursor=next_cursor)

    @get("/{form_id:str}", summary="Get a form (its ETag is its version)", opt={"permission": "forms:read"})
    async def get_form(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
        form_id: FromPath[str],
    ) -> Response[FormOut]:
        form = await service.get_form(db_session, workspace_id=caller.workspace_id, form_id=form_id)
        return _with_etag(form, app_settings)

    @patch(
        "/{form_id:str}",
        summary="Change a form; send If-Match to refuse lost updates",
        opt={"permission": "forms:write"},
    )
    async def update_form(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        app_settings: NamedDependency[Settings],
        form_id: FromPath[str],
        data: JSONBody[FormUpdate],
        if_match: Annotated[str | None, HeaderParameter(name="if-match")] = None,
    ) -> Response[FormOut]:
        form = await service.update_form(
            db_session,
            workspace_id=caller.workspace_id,
            form_id=form_id,
            data=data,
            actor=caller.actor,
            expected_version=_expected_version(if_match),
        )
        return _with_etag(form, app_settings)

    @delete("/{form_id:str}", summary="Delete a form; its public link stops working", opt={"permission": "forms:write"})
    async def delete_form(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], form_id: FromPath[str]
    ) -> None:
        await service.delete_form(db_session, workspace_id=caller.workspace_id, form_id=form_id, actor=caller.actor)
