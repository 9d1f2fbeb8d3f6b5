"""Routes of the ingest slice: the public ``POST /f/{slug}`` and the admin reads of leads and submissions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from core.client_ip import client_ip, rate_limit_subject
from core.pagination import DEFAULT_LIMIT, Limit
from ingest import service
from ingest.parse import parse_submission
from ingest.schemas import (
    ConsentEventOut,
    LeadDetail,
    LeadList,
    LeadOut,
    SubmissionList,
    SubmissionOut,
    SubmitAccepted,
    Verdict,
)
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers import BaseRouteHandler

    from consent.models import ConsentEvent, ConsentNotice
    from core.ratelimit import SubmitLimiter
    from forms.models import Form
    from ingest.models import Lead, Submission

__all__ = ("LeadController", "SubmissionController", "rate_limit_submissions", "submit")

_CLIENT_IP = "leadwire_client_ip"
_FORM = "leadwire_form"


def _client_ip(connection: ASGIConnection[Any, Any, Any, Any], services: service.SubmitServices) -> str:
    peer = connection.client.host if connection.client else None
    return client_ip(peer, connection.headers.getall("x-forwarded-for", []), services.trusted_proxies)


async def rate_limit_submissions(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: count the submission against the client's and the form's limits before the body is read.

    The client's own limit comes first; only then is the form looked up (``404`` for an unknown slug), and the
    per-client-and-form and per-form limits are counted for forms that exist.
    """
    services: service.SubmitServices = connection.app.state.submit_services
    limiter: SubmitLimiter = connection.app.state.submit_limiter
    address = _client_ip(connection, services)
    connection.state[_CLIENT_IP] = address
    subject = rate_limit_subject(address)
    await limiter.check_client(subject)
    form = await services.forms.get(str(connection.path_params.get("slug", "")))
    connection.state[_FORM] = form
    await limiter.check_form(client=subject, form=form.id)


@post(
    "/f/{slug:str}",
    guards=[rate_limit_submissions],
    summary="Submit a form",
    description=(
        "Takes application/x-www-form-urlencoded, multipart/form-data or JSON. JSON bodies and requests that "
        "accept application/json get 201 with the submission id; browser posts get 303 to the thank-you page or "
        "the form's redirect. Consents are the granted purposes: repeated `consent` fields or a JSON list."
    ),
    tags=["submit"],
    status_code=201,
    responses={303: ResponseSpec(data_container=None, description="Browser posts: go to the thank-you page")},
)
async def submit(slug: FromPath[str], request: Request[Any, Any, Any]) -> Response[SubmitAccepted]:
    state = request.app.state
    services: service.SubmitServices = state.submit_services
    form: Form = request.state.get(_FORM) or await services.forms.get(slug)
    raw = await parse_submission(request, services.settings)
    accept = request.headers.get("accept", "").lower()
    facts = service.RequestFacts(
        client_ip=request.state.get(_CLIENT_IP) or _client_ip(request, services),
        user_agent=request.headers.get("user-agent"),
        origin=request.headers.get("origin"),
        referer=request.headers.get("referer"),
        idempotency_key=request.headers.get("idempotency-key"),
        wants_json=raw.is_json or "application/json" in accept,
    )
    outcome = await service.run_pipeline(services, form, raw, facts)
    headers = {"Cache-Control": "no-store"}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    if outcome.location is not None:
        headers["Location"] = outcome.location
        return Response(b"", status_code=outcome.status_code, headers=headers, media_type="text/plain")  # type: ignore[arg-type]
    return Response(outcome.body, status_code=outcome.status_code, headers=headers, media_type="application/json")  # type: ignore[arg-type]


def lead_out(lead: Lead) -> LeadOut:
    return LeadOut(
        id=lead.id,
        email=lead.email,
        phone=lead.phone,
        name=lead.name,
        fields=lead.fields,
        submission_count=lead.submission_count,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
    )


def submission_out(submission: Submission) -> SubmissionOut:
    return SubmissionOut(
        id=submission.id,
        form_id=submission.form_id,
        form_version=submission.form_version,
        lead_id=submission.lead_id,
        verdict=submission.verdict,  # type: ignore[arg-type]
        spam_reason=submission.spam_reason,
        source=submission.source,
        fields=submission.fields,
        consents=submission.consents,
        page_url=submission.page_url,
        referrer=submission.referrer,
        utm=submission.utm,
        user_agent=submission.user_agent,
        client_ip=submission.client_ip,
        event_type=submission.event_type,
        message_id=submission.message_id,
        created_at=submission.created_at,
    )


def consent_event_out(event: ConsentEvent, notice: ConsentNotice) -> ConsentEventOut:
    return ConsentEventOut(
        id=event.id,
        purpose=event.purpose,
        channel=event.channel,
        state=event.state,
        indication=event.indication,
        form_id=event.form_id,
        submission_id=event.submission_id,
        notice_id=notice.id,
        notice_version=notice.version,
        notice_text=notice.text,
        text_sha256=notice.text_sha256,
        page_url=event.page_url,
        recorded_at=event.recorded_at,
    )


class LeadController(Controller):
    """The workspace's leads: one per person, with their submissions and consent history."""

    path = "/leads"
    tags = ["leads"]  # noqa: RUF012

    @get("/", summary="List leads, newest first; search by email or phone")
    async def list_leads(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        email: FromQuery[str | None] = None,
        phone: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> LeadList:
        leads, next_cursor = await service.list_leads(
            db_session, workspace_id=caller.workspace_id, email=email, phone=phone, limit=limit, cursor=cursor
        )
        return LeadList(items=[lead_out(lead) for lead in leads], next_cursor=next_cursor)

    @get("/{lead_id:str}", summary="A lead with its submissions and consent history")
    async def get_lead(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], lead_id: FromPath[str]
    ) -> LeadDetail:
        lead, submissions, events = await service.get_lead(
            db_session, workspace_id=caller.workspace_id, lead_id=lead_id
        )
        return LeadDetail(
            lead=lead_out(lead),
            submissions=[submission_out(s) for s in submissions],
            consent_events=[consent_event_out(e, n) for e, n in events],
        )


class SubmissionController(Controller):
    """Every submission, including duplicates and spam, which are kept but never delivered."""

    path = "/submissions"
    tags = ["submissions"]  # noqa: RUF012

    @get("/", summary="List submissions, newest first, by form and verdict")
    async def list_submissions(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        form_id: FromQuery[str | None] = None,
        verdict: FromQuery[Verdict | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> SubmissionList:
        submissions, next_cursor = await service.list_submissions(
            db_session,
            workspace_id=caller.workspace_id,
            form_id=form_id,
            verdict=verdict,
            limit=limit,
            cursor=cursor,
        )
        return SubmissionList(items=[submission_out(s) for s in submissions], next_cursor=next_cursor)
