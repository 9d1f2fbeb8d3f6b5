"""The forms pages: the list, a new form, the editor (save, publish or archive), and its preview, saved or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.forms_editor import ROW_SLACK, editor_rows, editor_values
from console.messages import SPAM_REASONS, editor_errors
from console.pages import HEADERS, forms_of, page
from console.session import ConsoleUser
from core.errors import FieldError, PreconditionFailed, ValidationFailed
from core.settings import Settings
from embeds.plain_form import plain_form_html
from embeds.render import page_context
from embeds.snippet import embed_out
from forms import service as forms
from forms.schemas import FormCreate, FormSettingsPatch, FormUpdate
from leads import service as leads

if TYPE_CHECKING:
    from forms.models import Form

__all__ = ("form_create", "form_edit", "form_preview", "form_preview_unsaved", "form_save", "form_status", "forms_list")


def _refuse(problems: list[tuple[str, str]]) -> None:
    """The editor's own problems (a number that is not one) as the service's validation error."""
    if problems:
        raise ValidationFailed([FieldError(field, "invalid", message) for field, message in problems])


async def _spam_since(session: AsyncSession, user: ConsoleUser) -> list[tuple[str, str, int]]:
    """Spam of the last 30 days per form and reason: spam is answered like a lead, so only this shows it."""
    since = datetime.now(UTC) - timedelta(days=30)
    return await leads.spam_reasons(session, workspace_id=user.workspace_id, since=since)


@get("/forms", opt={"permission": "forms:read"})
async def forms_list(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Template:
    spam: dict[str, int] = {}
    for form_id, _, n in await _spam_since(db_session, user):
        spam[form_id] = spam.get(form_id, 0) + n
    return page(request, "forms", user, forms=await forms_of(db_session, user), spam=spam)


@post("/forms", status_code=303, opt={"permission": "forms:write"})
async def form_create(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Response[Any]:
    form = await request.form()
    name = str(form.get("name") or "").strip() or "Untitled form"
    starter = msgspec.convert(
        {
            "name": name[:200],
            "fields": [
                {"name": "name", "type": "text", "label": "Your name", "required": True},
                {"name": "email", "type": "email", "label": "Email", "required": True},
                {"name": "message", "type": "textarea", "label": "How can we help?"},
            ],
        },
        FormCreate,
    )
    created = await forms.create_form(db_session, workspace_id=user.workspace_id, data=starter, actor=user.caller.actor)
    return Redirect(f"/console/forms/{created.id}?done=created", status_code=303)


def _editor(
    request: Request[Any, Any, Any], user: ConsoleUser, form: Form, settings: Settings, **extra: Any
) -> Template:
    definition = forms.definition_of(form)
    values = extra.pop("values", None)
    embed = embed_out(form, settings)
    return page(
        request,
        "form_edit",
        user,
        status_code=extra.pop("status_code", 200),
        form=form,
        rows=editor_rows(values, definition),
        embed=embed,
        plain_html=plain_form_html(definition, action=embed.public_url),
        spam=extra.pop("spam", []),
        spam_reasons=SPAM_REASONS,
        slack=ROW_SLACK,
        errors=extra.pop("errors", []),
        **extra,
    )


@get("/forms/{form_id:str}", opt={"permission": "forms:read"})
async def form_edit(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
    form_id: FromPath[str],
) -> Template:
    form = await forms.get_form(db_session, workspace_id=user.workspace_id, form_id=form_id)
    spam = [(reason, n) for form_of, reason, n in await _spam_since(db_session, user) if form_of == form.id]
    return _editor(request, user, form, app_settings, spam=spam)


@post("/forms/{form_id:str}", status_code=303, opt={"permission": "forms:write"})
async def form_save(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
    form_id: FromPath[str],
) -> Response[Any]:
    form = await forms.get_form(db_session, workspace_id=user.workspace_id, form_id=form_id)
    posted = await request.form()
    values, problems = editor_values(posted, forms.definition_of(form))
    version_text = str(posted.get("version") or "")
    if not version_text.isdigit():
        problems.append(("version", "reload the page: the form's version is missing"))
    try:
        _refuse(problems)
        change = msgspec.convert(
            {**values, "settings": msgspec.to_builtins(msgspec.convert(values["settings"], FormSettingsPatch))},
            FormUpdate,
        )
        version = int(version_text)
        await forms.update_form(
            db_session,
            workspace_id=user.workspace_id,
            form_id=form.id,
            data=change,
            actor=user.caller.actor,
            expected_version=version,
        )
    except (ValidationFailed, msgspec.ValidationError) as exc:
        return _editor(request, user, form, app_settings, values=values, errors=editor_errors(exc), status_code=422)
    except PreconditionFailed:
        message = (
            "Someone else saved this form while you were editing it. "
            "Your changes are below: copy what you need, then reload."
        )
        return _editor(request, user, form, app_settings, values=values, errors=[message], status_code=409)
    return Redirect(f"/console/forms/{form.id}?done=saved", status_code=303)


@post("/forms/{form_id:str}/status", status_code=303, opt={"permission": "forms:write"})
async def form_status(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
    form_id: FromPath[str],
) -> Response[Any]:
    status = str((await request.form()).get("status") or "")
    form = await forms.get_form(db_session, workspace_id=user.workspace_id, form_id=form_id)
    if status not in {"published", "archived", "draft"}:
        return _editor(request, user, form, app_settings, errors=["Unknown status."], status_code=422)
    try:
        await forms.update_form(
            db_session,
            workspace_id=user.workspace_id,
            form_id=form.id,
            data=FormUpdate(status=status),  # type: ignore[arg-type]
            actor=user.caller.actor,
        )
    except ValidationFailed as exc:
        return _editor(request, user, form, app_settings, errors=editor_errors(exc), status_code=422)
    done = {"published": "published", "archived": "archived"}.get(status, "saved")
    return Redirect(f"/console/forms/{form.id}?done={done}", status_code=303)


def _preview(form: Form, name: str, definition: Any) -> Template:
    context = page_context(form, definition, render_token="", query={}, parent_origin=None)
    context.update(form_name=name, action="#preview", frame_script="", preview=True)
    headers = {
        **HEADERS,
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "form-action 'none'; frame-ancestors 'self'; base-uri 'none'",
    }
    return Template(template_name="form.html", context=context, headers=headers)


@get("/forms/{form_id:str}/preview", opt={"permission": "forms:read"})
async def form_preview(
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    form_id: FromPath[str],
) -> Template:
    form = await forms.get_form(db_session, workspace_id=user.workspace_id, form_id=form_id)
    return _preview(form, form.name, forms.definition_of(form))


@post("/forms/{form_id:str}/preview", status_code=200, opt={"permission": "forms:write"})
async def form_preview_unsaved(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    form_id: FromPath[str],
) -> Response[Any]:
    """The editor's script posts the unsaved editor here and shows the answer in the preview frame."""
    form = await forms.get_form(db_session, workspace_id=user.workspace_id, form_id=form_id)
    values, problems = editor_values(await request.form(), forms.definition_of(form))
    try:
        _refuse(problems)
        data = msgspec.convert({**values, "status": "draft"}, FormCreate)
        definition = forms.validate_definition(data.fields, data.consents, data.settings, "draft")
    except (ValidationFailed, msgspec.ValidationError) as exc:
        return Response("\n".join(editor_errors(exc)), status_code=422, media_type=MediaType.TEXT, headers=HEADERS)
    return _preview(form, data.name, definition)
