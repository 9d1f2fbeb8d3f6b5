"""Admin routes of the ingest slice: leads and submissions (the public submit route is in ``embeds``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from ingest import service
from ingest.schemas import (
    ErasureResult,
    LeadDetail,
    PersonExport,
    PersonRequest,
    WithdrawRequest,
    WithdrawResult,
)
from ingest.views import consent_event_out, consent_state_out, export_document
from leads.views import lead_out, submission_out
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from core.database import Database

__all__ = ("LeadConsentController", "PrivacyController")


class LeadConsentController(Controller):
    """A lead with its consent history, and withdrawing its consents."""

    path = "/leads"
    tags = ["leads"]  # noqa: RUF012

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
