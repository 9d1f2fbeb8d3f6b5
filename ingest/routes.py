"""Admin routes of the ingest slice: leads and submissions (the public submit route is in ``embeds``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from core.pagination import DEFAULT_LIMIT, Limit
from ingest import service
from ingest.schemas import (
    ConsentEventOut,
    LeadDetail,
    LeadList,
    LeadOut,
    SubmissionList,
    SubmissionOut,
    Verdict,
)
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from consent.models import ConsentEvent, ConsentNotice
    from ingest.models import Lead, Submission

__all__ = ("LeadController", "SubmissionController")


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
