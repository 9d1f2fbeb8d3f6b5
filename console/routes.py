"""The console's pages: plain HTML forms over the admin API's services, a little script where it helps.

Every page but sign-in needs a session (``console.session``); every POST needs its CSRF token. A new signing secret
(a new endpoint, a rotation) is shown on one page, once, after a redirect; no page shows it again.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import msgspec
from litestar import MediaType, Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from console.charts import Series, last_days, stacked_bars
from console.forms_editor import ROW_SLACK, editor_rows, editor_values
from console.messages import SPAM_REASONS, editor_errors
from console.session import (
    ConsoleUser,
    CsrfFailed,
    SignInRequired,
    check_post,
    clear_cookie,
    load_user,
    same_origin,
    session_cookie,
    wrong_address,
)
from core.dependencies import SAFE_METHODS
from core.errors import Conflict, FieldError, NotFound, PreconditionFailed, ValidationFailed
from core.settings import Settings
from delivery import service as delivery
from delivery.schemas import EndpointCreate, EndpointUpdate
from embeds.plain_form import plain_form_html
from embeds.render import page_context
from embeds.snippet import embed_out
from forms import service as forms
from forms.schemas import FormCreate, FormSettingsPatch, FormUpdate
from ingest import service as ingest
from workspaces import service as workspaces
from workspaces import sessions as console_sessions
from workspaces.schemas import Caller
from workspaces.sessions import Revealed

if TYPE_CHECKING:
    from core.database import Database
    from delivery.models import WebhookEndpoint
    from forms.models import Form

__all__ = ("CONSOLE_TEMPLATES", "console_router")

STATIC = Path(__file__).parent / "static"
CONSOLE_TEMPLATES = Path(__file__).parent / "templates"
"""Holds ``console/*.html``: the app's template directories are this and the hosted page's."""
_SCRIPT = (STATIC / "console.js").read_bytes()
_PAGE_SIZE = 25
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
_NOTICES = {
    "test_sent": "A webhook.test event is on its way.",
    "retried": "The delivery will be sent again in a moment.",
    "not_retried": "Not sent again: it is already waiting for its next attempt, or its endpoint was deleted.",
    "erased": "The person's data was erased. Their consent history is kept, without personal data.",
    "withdrawn": "The consent is withdrawn, and the CRM endpoints are told (consent.withdrawn).",
    "saved": "Saved.",
    "created": "Form created. It is a draft: shape it below, then publish it.",
    "published": "Published: the public link and the snippet work now.",
    "archived": "Archived: the public link and the snippet no longer take submissions.",
    "enabled": "The endpoint is enabled.",
    "disabled": "The endpoint is disabled: nothing is sent to it until you enable it again.",
    "signed_out": "You have signed out.",
    "signed_out_everywhere": "Every console session of the workspace has ended, this one included. Sign in again.",
    "key_shown": "An API key is shown only once, and this one was. If it was not copied, revoke it and make another.",
    "key_revoked": "The key is revoked: it no longer opens the API or the console.",
    "own_key_revoked": "The key you signed in with is revoked, so this session has ended. Sign in with another key.",
    "secret_shown": "A signing secret is shown only once, and this one was. If it was not copied, rotate it to "
    "make a new one.",
}
_VERDICTS = [
    Series("accepted", "Accepted", "#1d4ed8"),
    Series("duplicate", "Duplicate", "#7c3aed"),
    Series("test", "Test", "#0f766e"),
    Series("spam", "Spam", "#b45309"),
]
_OUTCOMES = [
    Series("succeeded", "Succeeded", "#15803d"),
    Series("pending", "Pending", "#6b7280"),
    Series("failed", "Failed", "#b91c1c"),
]


async def provide_user(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], app_settings: NamedDependency[Settings]
) -> ConsoleUser:
    """The signed-in user; a POST must also carry the session's CSRF token from our own origin."""
    user = await load_user(request, db_session, app_settings)
    if request.method == "POST":
        await check_post(request, user, app_settings)
    if user.seen_long_ago:
        if request.method in SAFE_METHODS:  # the request's own transaction only reads
            db: Database = request.app.state.db
            async with db.session(write=True) as session:
                await console_sessions.touch_session(session, user.session_id)
        else:
            await console_sessions.touch_session(db_session, user.session_id)
    return user


def page(
    request: Request[Any, Any, Any], name: str, user: ConsoleUser | None, status_code: int = 200, **context: Any
) -> Template:
    notice = _NOTICES.get(request.query_params.get("done", ""))
    return Template(
        template_name=f"console/{name}.html",
        context={
            "user": user,
            "csrf": user.csrf if user else "",
            "notice": notice,
            "path": request.url.path,
            **context,
        },
        headers=_HEADERS,
        status_code=status_code,
    )


def _errors(exc: ValidationFailed | msgspec.ValidationError) -> list[str]:
    return editor_errors(exc)  # in the editor's words: never "Expected `str` matching regex"


async def _forms_of(session: AsyncSession, user: ConsoleUser) -> list[Form]:
    """The workspace's forms for lists, pickers and name maps (the first 100, newest first)."""
    found, _ = await forms.list_forms(session, workspace_id=user.workspace_id, status=None, limit=100, cursor=None)
    return found


async def _endpoints_of(session: AsyncSession, user: ConsoleUser) -> list[WebhookEndpoint]:
    """The workspace's endpoints for lists and pickers (the first 100, newest first)."""
    found, _ = await delivery.list_endpoints(session, workspace_id=user.workspace_id, limit=100, cursor=None)
    return found


def _refuse(problems: list[tuple[str, str]]) -> None:
    """The editor's own problems (a number that is not one) as the service's validation error."""
    if problems:
        raise ValidationFailed([FieldError(field, "invalid", message) for field, message in problems])


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` from a date input as a UTC time: its start, or with ``end`` the start of the next day."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


# --- signing in -------------------------------------------------------------------------------------------------------


@get("/sign-in", name="console:sign-in")
async def sign_in_page(request: Request[Any, Any, Any]) -> Template:
    settings: Settings = request.app.state.settings
    return page(request, "sign_in", None, error=wrong_address(request, settings), next=_next(request))


@post("/sign-in", status_code=303)
async def sign_in(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], app_settings: NamedDependency[Settings]
) -> Response[Any]:
    form = await request.form()
    key = str(form.get("api_key") or "").strip()
    wanted = _next(request)
    if not same_origin(request, app_settings):
        error = wrong_address(request, app_settings) or "Sign in from this page."
        return page(request, "sign_in", None, status_code=403, error=error, next=wanted)
    caller = await workspaces.authenticate(db_session, key) if key and "\x00" not in key else None
    if caller is None:
        return page(request, "sign_in", None, status_code=401, error="That key is not a live API key.", next=wanted)
    token, _ = await console_sessions.open_session(
        db_session,
        caller=caller,
        lifetime_seconds=app_settings.console_session_seconds,
        user_agent=request.headers.get("user-agent"),
    )
    return Redirect(wanted or "/console", status_code=303, cookies=[session_cookie(app_settings, token)])


def _next(request: Request[Any, Any, Any]) -> str | None:
    """Where to go after signing in: a console page only (never another site, nor ``//host``)."""
    wanted = request.query_params.get("next") or ""
    if wanted.startswith("/console/") and "//" not in wanted and "\\" not in wanted and wanted.isprintable():
        return wanted
    return None


@post("/sign-out", status_code=303)
async def sign_out(
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Redirect:
    await console_sessions.end_session(db_session, user.session_id)
    return Redirect("/console/sign-in?done=signed_out", status_code=303, cookies=[clear_cookie(app_settings)])


@post("/sign-out-everywhere", status_code=303)
async def sign_out_everywhere(
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    app_settings: NamedDependency[Settings],
) -> Redirect:
    """Every session of the workspace ends, in every browser, this one included."""
    await console_sessions.end_workspace_sessions(db_session, workspace_id=user.workspace_id, actor=user.caller.actor)
    return Redirect(
        "/console/sign-in?done=signed_out_everywhere", status_code=303, cookies=[clear_cookie(app_settings)]
    )


# --- dashboard --------------------------------------------------------------------------------------------------------


@get("/")
async def dashboard(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Template:
    days = last_days(datetime.now(UTC).date())
    since = datetime.fromisoformat(days[0]).replace(tzinfo=UTC)
    verdicts = await ingest.daily_verdicts(db_session, workspace_id=user.workspace_id, since=since)
    outcomes = await delivery.daily_outcomes(db_session, workspace_id=user.workspace_id, since=since)
    submissions = stacked_bars("Submissions per day", days, _VERDICTS, {(d, k): n for d, k, n in verdicts})
    deliveries = stacked_bars("Deliveries per day", days, _OUTCOMES, {(d, k): n for d, k, n in outcomes})
    form_list, _ = await forms.list_forms(db_session, workspace_id=user.workspace_id, status=None, limit=1, cursor=None)
    endpoints, _ = await delivery.list_endpoints(db_session, workspace_id=user.workspace_id, limit=1, cursor=None)
    return page(
        request,
        "dashboard",
        user,
        submissions=submissions,
        deliveries=deliveries,
        verdicts=_VERDICTS,
        outcomes=_OUTCOMES,
        has_form=bool(form_list),
        has_endpoint=bool(endpoints),
    )


# --- forms ------------------------------------------------------------------------------------------------------------


async def _spam_since(session: AsyncSession, user: ConsoleUser) -> list[tuple[str, str, int]]:
    """Spam of the last 30 days per form and reason: spam is answered like a lead, so only this shows it."""
    since = datetime.now(UTC) - timedelta(days=30)
    return await ingest.spam_reasons(session, workspace_id=user.workspace_id, since=since)


@get("/forms")
async def forms_list(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Template:
    spam: dict[str, int] = {}
    for form_id, _, n in await _spam_since(db_session, user):
        spam[form_id] = spam.get(form_id, 0) + n
    return page(request, "forms", user, forms=await _forms_of(db_session, user), spam=spam)


@post("/forms", status_code=303)
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


@get("/forms/{form_id:str}")
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


@post("/forms/{form_id:str}", status_code=303)
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
        return _editor(request, user, form, app_settings, values=values, errors=_errors(exc), status_code=422)
    except PreconditionFailed:
        message = (
            "Someone else saved this form while you were editing it. "
            "Your changes are below: copy what you need, then reload."
        )
        return _editor(request, user, form, app_settings, values=values, errors=[message], status_code=409)
    return Redirect(f"/console/forms/{form.id}?done=saved", status_code=303)


@post("/forms/{form_id:str}/status", status_code=303)
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
        return _editor(request, user, form, app_settings, errors=_errors(exc), status_code=422)
    done = {"published": "published", "archived": "archived"}.get(status, "saved")
    return Redirect(f"/console/forms/{form.id}?done={done}", status_code=303)


def _preview(form: Form, name: str, definition: Any) -> Template:
    context = page_context(form, definition, render_token="", query={}, parent_origin=None)
    context.update(form_name=name, action="#preview", frame_script="", preview=True)
    headers = {
        **_HEADERS,
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "form-action 'none'; frame-ancestors 'self'; base-uri 'none'",
    }
    return Template(template_name="form.html", context=context, headers=headers)


@get("/forms/{form_id:str}/preview")
async def form_preview(
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    form_id: FromPath[str],
) -> Template:
    form = await forms.get_form(db_session, workspace_id=user.workspace_id, form_id=form_id)
    return _preview(form, form.name, forms.definition_of(form))


@post("/forms/{form_id:str}/preview", status_code=200)
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
        return Response("\n".join(_errors(exc)), status_code=422, media_type=MediaType.TEXT, headers=_HEADERS)
    return _preview(form, data.name, definition)


# --- leads ------------------------------------------------------------------------------------------------------------


@get("/leads")
async def leads_list(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    q: FromQuery[str] = "",
    form: FromQuery[str] = "",
    verdict: FromQuery[str] = "",
    since: FromQuery[str] = "",
    until: FromQuery[str] = "",
    cursor: FromQuery[str | None] = None,
) -> Template:
    all_forms = await _forms_of(db_session, user)
    names = {f.id: f.name for f in all_forms}
    filters = {"q": q.strip(), "form": form, "verdict": verdict, "since": since, "until": until}
    try:
        rows, next_cursor = await ingest.list_submissions(
            db_session,
            workspace_id=user.workspace_id,
            form_id=form if form in names else None,
            verdict=verdict if verdict in {s.key for s in _VERDICTS} else None,
            limit=_PAGE_SIZE,
            cursor=cursor,
            person=filters["q"] or None,
            since=_day(since),
            until=_day(until, end=True),
        )
    except (NotFound, ValidationFailed):
        rows, next_cursor = [], None
    more = f"/console/leads?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else None
    return page(
        request, "leads", user, rows=rows, names=names, filters=filters, verdicts=_VERDICTS, more=more, forms=all_forms
    )


@get("/leads/{lead_id:str}")
async def lead_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    lead_id: FromPath[str],
) -> Template:
    lead, submissions, events = await ingest.get_lead(db_session, workspace_id=user.workspace_id, lead_id=lead_id)
    all_forms = await _forms_of(db_session, user)
    return page(
        request,
        "lead",
        user,
        lead=lead,
        submissions=submissions,
        events=events,
        consent_state=ingest.consent_state_out(submissions, [event for event, _ in events]),
        names={f.id: f.name for f in all_forms},
    )


@post("/leads/{lead_id:str}/withdraw", status_code=303)
async def lead_withdraw(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    lead_id: FromPath[str],
) -> Redirect:
    """The person asked the team to stop using their data for a purpose: the same withdrawal as the API's."""
    purpose = str((await request.form()).get("purpose") or "")
    await ingest.withdraw_consents(
        db_session, workspace_id=user.workspace_id, lead_id=lead_id, purposes=[purpose], indication="console"
    )
    return Redirect(f"/console/leads/{lead_id}?done=withdrawn", status_code=303)


def _person(lead: Any) -> dict[str, str | None]:
    return {"email": lead.email, "phone": None} if lead.email else {"email": None, "phone": lead.phone}


@get("/leads/{lead_id:str}/export")
async def lead_export(
    db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser], lead_id: FromPath[str]
) -> Response[bytes]:
    lead, _, _ = await ingest.get_lead(db_session, workspace_id=user.workspace_id, lead_id=lead_id)
    if lead.erased_at is not None:
        raise NotFound("this lead was erased")
    found = await ingest.person_export(db_session, workspace_id=user.workspace_id, **_person(lead))
    document = msgspec.json.encode(ingest.export_document(found))
    pretty = json.dumps(json.loads(document), indent=2, ensure_ascii=False).encode()
    headers = {**_HEADERS, "Content-Disposition": f'attachment; filename="leadwire-export-{lead.id}.json"'}
    return Response(pretty, media_type=MediaType.JSON, headers=headers)


@post("/leads/{lead_id:str}/erase", status_code=303)
async def lead_erase(
    request: Request[Any, Any, Any], app_settings: NamedDependency[Settings], lead_id: FromPath[str]
) -> Response[Any]:
    # Not the request's own transaction: the old row versions must leave the disk after the erasure commits
    # (``flush_erased``), as the admin API's erasure does. So the session is checked in a read transaction first.
    db: Database = request.app.state.db
    async with db.session(write=False) as session:
        user = await load_user(request, session, app_settings)
    await check_post(request, user, app_settings)
    if (await request.form()).get("confirm") != "erase":
        return Redirect(f"/console/leads/{lead_id}", status_code=303)
    async with db.session(write=True) as session:
        lead, _, _ = await ingest.get_lead(session, workspace_id=user.workspace_id, lead_id=lead_id)
        if lead.erased_at is not None:
            return Redirect("/console/leads?done=erased", status_code=303)
        await ingest.erase_person(session, workspace_id=user.workspace_id, actor=user.caller.actor, **_person(lead))
    await db.flush_erased()
    return Redirect("/console/leads?done=erased", status_code=303)


# --- webhooks ---------------------------------------------------------------------------------------------------------


@get("/webhooks")
async def webhooks(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser]
) -> Template:
    return page(request, "webhooks", user, endpoints=await _endpoints_of(db_session, user), errors=[], url="")


@post("/webhooks", status_code=303)
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
        return page(request, "webhooks", user, status_code=422, endpoints=endpoints, errors=_errors(exc), url=url)
    return await _reveal(db_session, user, _secret_page(endpoint.id), Revealed(secret))


async def _reveal(session: AsyncSession, user: ConsoleUser, path: str, revealed: Revealed) -> Redirect:
    """Post, redirect, get: a new secret waits for the page at ``path`` in the session's row (encrypted, never in a
    cookie), so that a reload cannot post again."""
    await console_sessions.stash_reveal(session, user.session_id, path=path, revealed=revealed)
    return Redirect(path, status_code=303, headers={"Cache-Control": "no-store"})


async def _revealing(
    request: Request[Any, Any, Any], user: ConsoleUser, path: str, name: str, **context: Any
) -> Template | None:
    """The page at ``path`` showing the secret on its way there, once; ``None`` when there is none: shown already
    (a reload, the back button, a replayed request), late, or made for another session."""
    # A GET's own transaction only reads: the secret is taken out of the row in a write transaction of its own.
    db: Database = request.app.state.db
    async with db.session(write=True) as session:
        revealed = await console_sessions.take_reveal(session, user.session_id, path=path)
    if revealed is None:
        return None
    return page(request, name, user, revealed=revealed, **context)


def _secret_page(endpoint_id: str) -> str:
    return f"/console/webhooks/{endpoint_id}/secret"


def _new_key_page(key_id: str) -> str:
    return f"/console/keys/{key_id}/new"


@get("/webhooks/{endpoint_id:str}/secret")
async def endpoint_secret(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    endpoint_id: FromPath[str],
) -> Response[Any]:
    endpoint = await delivery.get_endpoint(db_session, workspace_id=user.workspace_id, endpoint_id=endpoint_id)
    shown = await _revealing(request, user, _secret_page(endpoint.id), "secret", endpoint=endpoint)
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


@get("/webhooks/{endpoint_id:str}")
async def endpoint_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    endpoint_id: FromPath[str],
) -> Template:
    return await _endpoint_page(request, db_session, user, endpoint_id)


@post("/webhooks/{endpoint_id:str}/rotate", status_code=303)
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
    return await _reveal(db_session, user, _secret_page(endpoint_id), Revealed(secret, expires))


@post("/webhooks/{endpoint_id:str}/test", status_code=303)
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


@post("/webhooks/{endpoint_id:str}/status", status_code=303)
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


@post("/webhooks/{endpoint_id:str}/recover", status_code=303)
async def endpoint_recover(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    endpoint_id: FromPath[str],
) -> Response[Any]:
    since = _day(str((await request.form()).get("since") or ""))
    if since is None:
        return await _endpoint_page(request, db_session, user, endpoint_id, errors=["Choose the day to recover from."])
    count = await delivery.recover(
        db_session, workspace_id=user.workspace_id, endpoint_id=endpoint_id, since=since, actor=user.caller.actor
    )
    return Redirect(f"/console/deliveries?{urlencode({'endpoint': endpoint_id, 'recovered': count})}", status_code=303)


@get("/deliveries")
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
        status=status if status in {s.key for s in _OUTCOMES} else None,
        event_type=None,
        since=None,
        until=None,
        limit=_PAGE_SIZE,
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
        statuses=_OUTCOMES,
        endpoints=endpoints,
        more=more,
        recovered=recovered,
    )


@get("/deliveries/{delivery_id:str}")
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


@post("/deliveries/{delivery_id:str}/retry", status_code=303)
async def delivery_retry(
    db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser], delivery_id: FromPath[str]
) -> Redirect:
    try:
        await delivery.retry_delivery(db_session, workspace_id=user.workspace_id, delivery_id=delivery_id)
    except Conflict:
        return Redirect(f"/console/deliveries/{delivery_id}?done=not_retried", status_code=303)
    return Redirect(f"/console/deliveries/{delivery_id}?done=retried", status_code=303)


@get("/static/console.js", media_type="text/javascript")
async def console_script() -> Response[bytes]:
    return Response(_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "public, max-age=300"})


# --- settings: API keys and the audit log -----------------------------------------------------------------------------


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
        session, workspace_id=user.workspace_id, limit=_PAGE_SIZE, cursor=cursor
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
        return await _settings_page(request, db_session, user, errors=_errors(exc), status_code=422, key_name=name)
    return await _reveal(db_session, user, _new_key_page(key.id), Revealed(plaintext))


@get("/keys/{key_id:str}/new")
async def key_new(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    key_id: FromPath[str],
) -> Response[Any]:
    key = await workspaces.get_api_key(db_session, workspace_id=user.workspace_id, key_id=key_id)
    shown = await _revealing(request, user, _new_key_page(key.id), "new_key", key=key)
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


# --- errors -----------------------------------------------------------------------------------------------------------


def _to_sign_in(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    del exc
    settings: Settings = request.app.state.settings
    wanted = request.url.path if request.method == "GET" else "/console"
    target = "/console/sign-in" + (f"?{urlencode({'next': wanted})}" if wanted != "/console" else "")
    return Redirect(target, status_code=303, cookies=[clear_cookie(settings)])


def _message_page(request: Request[Any, Any, Any], status: int, heading: str, message: str) -> Template:
    return page(request, "message", None, status_code=status, heading=heading, message=message)


def _forbidden(request: Request[Any, Any, Any], exc: CsrfFailed) -> Template:
    return _message_page(request, 403, "That did not work", str(exc.detail))


def _not_found(request: Request[Any, Any, Any], exc: NotFound) -> Template:
    del exc
    return _message_page(request, 404, "Not found", "There is nothing here, or it belongs to another workspace.")


console_router = Router(
    path="/console",
    route_handlers=[
        sign_in_page,
        sign_in,
        sign_out,
        sign_out_everywhere,
        dashboard,
        forms_list,
        form_create,
        form_edit,
        form_save,
        form_status,
        form_preview,
        form_preview_unsaved,
        leads_list,
        lead_page,
        lead_withdraw,
        lead_export,
        lead_erase,
        webhooks,
        endpoint_create,
        endpoint_secret,
        endpoint_page,
        endpoint_rotate,
        endpoint_test,
        endpoint_status,
        endpoint_recover,
        deliveries_list,
        delivery_page,
        delivery_retry,
        settings_page,
        key_create,
        key_new,
        key_revoke,
        console_script,
    ],
    dependencies={"user": Provide(provide_user)},
    exception_handlers={SignInRequired: _to_sign_in, CsrfFailed: _forbidden, NotFound: _not_found},
    include_in_schema=False,
)
