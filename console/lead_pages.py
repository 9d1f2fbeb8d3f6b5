"""The leads pages: submissions filtered by person, form, verdict and day; a lead with its consents; withdrawal, export
and erasure on the person's behalf."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from consent import lifecycle
from consent import service as consent
from consent import views as consent_views
from console.pages import HEADERS, PAGE_SIZE, VERDICTS, forms_of, page, utc_day
from console.session import ConsoleUser, check_post, load_user
from core.errors import NotFound, ValidationFailed
from core.settings import Settings
from leads import service as leads
from privacy import service as privacy
from privacy import views as privacy_views

if TYPE_CHECKING:
    from core.database import Database

__all__ = ("lead_erase", "lead_export", "lead_page", "lead_withdraw", "leads_list")


@get("/leads", opt={"permission": "leads:read"})
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
    all_forms = await forms_of(db_session, user)
    names = {f.id: f.name for f in all_forms}
    filters = {"q": q.strip(), "form": form, "verdict": verdict, "since": since, "until": until}
    try:
        rows, next_cursor = await leads.list_submissions(
            db_session,
            workspace_id=user.workspace_id,
            form_id=form if form in names else None,
            verdict=verdict if verdict in {s.key for s in VERDICTS} else None,
            limit=PAGE_SIZE,
            cursor=cursor,
            person=filters["q"] or None,
            since=utc_day(since),
            until=utc_day(until, end=True),
        )
    except (NotFound, ValidationFailed):
        rows, next_cursor = [], None
    more = f"/console/leads?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else None
    return page(
        request, "leads", user, rows=rows, names=names, filters=filters, verdicts=VERDICTS, more=more, forms=all_forms
    )


@get("/leads/{lead_id:str}", opt={"permission": "leads:read"})
async def lead_page(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    lead_id: FromPath[str],
) -> Template:
    lead, submissions, events = await consent.lead_history(db_session, workspace_id=user.workspace_id, lead_id=lead_id)
    all_forms = await forms_of(db_session, user)
    return page(
        request,
        "lead",
        user,
        lead=lead,
        submissions=submissions,
        events=events,
        consent_state=consent_views.consent_state_out(submissions, [event for event, _ in events]),
        names={f.id: f.name for f in all_forms},
    )


@post("/leads/{lead_id:str}/withdraw", status_code=303, opt={"permission": "leads:write"})
async def lead_withdraw(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user: NamedDependency[ConsoleUser],
    lead_id: FromPath[str],
) -> Redirect:
    """The person asked the team to stop using their data for a purpose: the same withdrawal as the API's."""
    purpose = str((await request.form()).get("purpose") or "")
    await lifecycle.withdraw_consents(
        db_session, workspace_id=user.workspace_id, lead_id=lead_id, purposes=[purpose], indication="console"
    )
    return Redirect(f"/console/leads/{lead_id}?done=withdrawn", status_code=303)


def _person(lead: Any) -> dict[str, str | None]:
    return {"email": lead.email, "phone": None} if lead.email else {"email": None, "phone": lead.phone}


@get("/leads/{lead_id:str}/export", opt={"permission": "privacy:export"})
async def lead_export(
    db_session: NamedDependency[AsyncSession], user: NamedDependency[ConsoleUser], lead_id: FromPath[str]
) -> Response[bytes]:
    lead, _ = await leads.get_lead(db_session, workspace_id=user.workspace_id, lead_id=lead_id)
    if lead.erased_at is not None:
        raise NotFound("this lead was erased")
    found = await privacy.person_export(db_session, workspace_id=user.workspace_id, **_person(lead))
    document = msgspec.json.encode(privacy_views.export_document(found))
    pretty = json.dumps(json.loads(document), indent=2, ensure_ascii=False).encode()
    headers = {**HEADERS, "Content-Disposition": f'attachment; filename="leadwire-export-{lead.id}.json"'}
    return Response(pretty, media_type=MediaType.JSON, headers=headers)


@post("/leads/{lead_id:str}/erase", status_code=303, opt={"permission": "privacy:erase"})
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
        lead, _ = await leads.get_lead(session, workspace_id=user.workspace_id, lead_id=lead_id)
        if lead.erased_at is not None:
            return Redirect("/console/leads?done=erased", status_code=303)
        await privacy.erase_person(session, workspace_id=user.workspace_id, actor=user.caller.actor, **_person(lead))
    await db.flush_erased()
    return Redirect("/console/leads?done=erased", status_code=303)
