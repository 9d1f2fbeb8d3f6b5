"""Admin routes of the ingest slice: leads and submissions (the public submit route is in ``embeds``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from core.pagination import DEFAULT_LIMIT, Limit
from ingest import service
from ingest.schemas import (
    ErasureResult,
    LeadDetail,
    LeadList,
    PersonExport,
    PersonRequest,
    SubmissionList,
    Verdict,
    WithdrawRequest,
    WithdrawResult,
)
from ingest.views import consent_event_out, consent_state_out, export_document, lead_out, submission_out
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from core.database import Database

__all__ = ("LeadController", "PrivacyController", "SubmissionController")


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
            consent_state=consent_state_out(submissions, [e for e, _ in events]),
        )

    @post("/{lead_id:str}/consents/withdraw", status_code=200, summary="Withdraw consents the person asked the CRM to")
    async def withdraw(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        lead_id: FromPath[str],
        data: JSONBody[WithdrawRequest],
    ) -> WithdrawResult:
        withdrawn = await service.withdraw_consents(
            db_session, workspace_id=caller.workspace_id, lead_id=lead_id, purposes=data.purposes, indication="crm"
        )
        return WithdrawResult(withdrawn=withdrawn)


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


class PrivacyController(Controller):
    """Data subject rights: export everything about a person, or erase it."""

    path = "/privacy"
    tags = ["privacy"]  # noqa: RUF012

    @get("/export", summary="Every lead, submission and consent event of a person (by email or phone)")
    async def export(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        email: FromQuery[str | None] = None,
        phone: FromQuery[str | None] = None,
    ) -> PersonExport:
        found = await service.person_export(db_session, workspace_id=caller.workspace_id, email=email, phone=phone)
        return export_document(found)

    @post("/erase", status_code=200, summary="Erase a person's personal data, keeping tombstones for audit")
    async def erase(
        self, request: Request[Any, Any, Any], caller: NamedDependency[Caller], data: JSONBody[PersonRequest]
    ) -> ErasureResult:
        db: Database = request.app.state.db
        async with db.session(write=True) as session:
            erased = await service.erase_person(
                session, workspace_id=caller.workspace_id, email=data.email, phone=data.phone, actor=caller.actor
            )
        await db.flush_erased()  # the old row versions leave the disk too (spam may be erased without a lead)
        return ErasureResult(erased_leads=erased)
