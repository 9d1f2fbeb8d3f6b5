"""Form definitions, as plain async functions over an explicit session; always scoped to one workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from msgspec import UNSET
from sqlalchemy import select

from core.database import utcnow
from core.errors import NotFound, PreconditionFailed
from core.ids import new_id, random_token
from core.pagination import fetch_page
from forms.definition import Definition, validate_definition
from forms.models import Form
from forms.schemas import ConsentSpec, FieldSpec, FormCreate, FormSettings, FormStatus, FormUpdate
from workspaces import service as workspaces

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import Session

__all__ = (
    "create_form",
    "definition_of",
    "delete_form",
    "get_form",
    "get_form_any",
    "get_published_form",
    "list_forms",
    "published_versions",
    "update_form",
    "validate_definition",
)

_SLUG_CHARS = 16  # 80 random bits: unguessable, so a draft's link does not leak by enumeration


def definition_of(form: Form) -> Definition:
    """The form's stored definition as typed structs."""
    return Definition(
        fields=msgspec.convert(form.fields, list[FieldSpec]),
        consents=msgspec.convert(form.consents, list[ConsentSpec]),
        settings=msgspec.convert(form.settings, FormSettings),
    )


def _store(form: Form, definition: Definition) -> None:
    form.fields = msgspec.to_builtins(definition.fields)
    form.consents = msgspec.to_builtins(definition.consents)
    form.settings = msgspec.to_builtins(definition.settings)


async def create_form(session: AsyncSession, *, workspace_id: str, data: FormCreate, actor: str) -> Form:
    """Check and store a new form with a fresh random slug.

    Raises:
        ValidationFailed: The definition is not acceptable; every problem is listed.
    """
    definition = validate_definition(data.fields, data.consents, data.settings, data.status)
    form = Form(
        id=new_id("form"),
        workspace_id=workspace_id,
        name=" ".join(data.name.split()) or data.name,
        slug=random_token(_SLUG_CHARS),
        status=data.status,
        version=1,
    )
    _store(form, definition)
    session.add(form)
    await session.flush()
    await workspaces.record_audit(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="form.created",
        target_type="form",
        target_id=form.id,
        details={"name": form.name, "status": form.status},
    )
    return form


async def get_form(session: AsyncSession, *, workspace_id: str, form_id: str, for_update: bool = False) -> Form:
    """The workspace's form. Another workspace's form, or a deleted one, is :class:`NotFound` like a missing one."""
    statement = select(Form).where(Form.id == form_id, Form.workspace_id == workspace_id, Form.deleted_at.is_(None))
    if for_update:
        statement = statement.with_for_update()
    form = await session.scalar(statement)
    if form is None:
        raise NotFound(f"no form {form_id}")
    return form


async def get_form_any(session: AsyncSession, *, form_id: str) -> Form:
    """A form by id whatever its status or workspace, deleted ones included: for records that point at it.

    Raises:
        NotFound: No such form.
    """
    form = await session.get(Form, form_id)
    if form is None:
        raise NotFound(f"no form {form_id}")
    return form


async def get_published_form(session: AsyncSession, *, slug: str) -> Form | None:
    """The published form behind a public slug, or ``None`` (drafts and archived forms are not public)."""
    return await session.scalar(
        select(Form).where(Form.slug == slug, Form.status == "published", Form.deleted_at.is_(None))
    )


def published_versions(session: Session, form_ids: set[str]) -> dict[str, int]:
    """The current version of each of these forms that is still published (not archived, a draft or deleted)."""
    rows = session.execute(
        select(Form.id, Form.version).where(
            Form.id.in_(form_ids), Form.status == "published", Form.deleted_at.is_(None)
        )
    )
    return {row[0]: row[1] for row in rows}


async def list_forms(
    session: AsyncSession, *, workspace_id: str, status: FormStatus | None, limit: int, cursor: str | None
) -> tuple[list[Form], str | None]:
    """One page of the workspace's forms, newest first, optionally of one status."""
    statement = select(Form).where(Form.workspace_id == workspace_id, Form.deleted_at.is_(None))
    if status is not None:
        statement = statement.where(Form.status == status)
    return await fetch_page(session, statement, id_column=Form.id, limit=limit, cursor=cursor)


async def update_form(
    session: AsyncSession,
    *,
    workspace_id: str,
    form_id: str,
    data: FormUpdate,
    actor: str,
    expected_version: int | None = None,
) -> Form:
    """Apply a partial update; the version grows by one when anything changed.

    Args:
        session: A write session.
        workspace_id: The caller's workspace.
        form_id: The form to change.
        data: What to change; ``fields`` and ``consents`` are replaced whole, ``settings`` key by key.
        actor: Who asks, for the audit log.
        expected_version: From ``If-Match``: refuse the change when the form has moved on since.

    Raises:
        NotFound: No such form in this workspace.
        PreconditionFailed: ``expected_version`` is not the current version.
        ValidationFailed: The resulting definition is not acceptable.
    """
    form = await get_form(session, workspace_id=workspace_id, form_id=form_id, for_update=True)
    if expected_version is not None and expected_version != form.version:
        raise PreconditionFailed(f"the form is at version {form.version}, not {expected_version}")
    current = definition_of(form)
    settings = current.settings
    if data.settings is not UNSET:
        changes = {k: v for k, v in msgspec.structs.asdict(data.settings).items() if v is not UNSET}
        settings = msgspec.structs.replace(settings, **changes)
    status: FormStatus = form.status if data.status is UNSET else data.status  # type: ignore[assignment]
    definition = validate_definition(
        current.fields if data.fields is UNSET else data.fields,
        current.consents if data.consents is UNSET else data.consents,
        settings,
        status,
    )
    name = form.name if data.name is UNSET else " ".join(data.name.split()) or data.name
    changed = [
        key
        for key, before, after in (
            ("name", form.name, name),
            ("status", form.status, status),
            ("fields", form.fields, msgspec.to_builtins(definition.fields)),
            ("consents", form.consents, msgspec.to_builtins(definition.consents)),
            ("settings", form.settings, msgspec.to_builtins(definition.settings)),
        )
        if before != after
    ]
    if not changed:
        return form
    previous_status = form.status
    form.name, form.status = name, status
    _store(form, definition)
    form.version += 1
    form.updated_at = utcnow()
    details: dict[str, object] = {"changed": changed, "version": form.version}
    if "status" in changed:
        details["status"] = {"from": previous_status, "to": status}
    await workspaces.record_audit(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="form.updated",
        target_type="form",
        target_id=form.id,
        details=details,
    )
    return form


async def delete_form(session: AsyncSession, *, workspace_id: str, form_id: str, actor: str) -> None:
    """Delete a form: its public link stops working at once; the row stays for the records that point at it."""
    form = await get_form(session, workspace_id=workspace_id, form_id=form_id, for_update=True)
    form.deleted_at = utcnow()
    form.status = "archived"
    form.version += 1
    await workspaces.record_audit(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="form.deleted",
        target_type="form",
        target_id=form.id,
        details={"name": form.name},
    )
