"""Admin API of the consent slice: the notice versions of a form, a lead's consent history, withdrawal."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from consent import lifecycle, service
from consent.schemas import LeadDetail, NoticeList, NoticeOut, WithdrawRequest, WithdrawResult
from consent.views import consent_event_out, consent_state_out
from leads.views import lead_out, submission_out
from workspaces.schemas import Caller

__all__ = ("LeadConsentController", "NoticeController")


class NoticeController(Controller):
    """Every consent text a form has shown, each with its hash and version."""

    tags = ["consent"]  # noqa: RUF012

    @get(
        "/forms/{form_id:str}/consent-notices",
        summary="Every version of a form's consent texts",
        opt={"permission": "forms:read"},
    )
    async def list_notices(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], form_id: FromPath[str]
    ) -> NoticeList:
        notices = await service.list_notices(db_session, workspace_id=caller.workspace_id, form_id=form_id)
        return NoticeList(
            items=[
                NoticeOut(
                    id=n.id,
                    purpose=n.purpose,
                    channel=n.channel,
                    text=n.text,
                    text_sha256=n.text_sha256,
                    version=n.version,
                    created_at=n.created_at,
                )
                for n in notices
            ]
        )


class LeadConsentController(Controller):
    """A lead with its consent history, and withdrawing its consents."""

    path = "/leads"
    tags = ["leads"]  # noqa: RUF012

    @get("/{lead_id:str}", summary="A lead with its submissions and consent history", opt={"permission": "leads:read"})
    async def get_lead(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], lead_id: FromPath[str]
    ) -> LeadDetail:
        lead, submissions, events = await service.lead_history(
            db_session, workspace_id=caller.workspace_id, lead_id=lead_id
        )
        return LeadDetail(
            lead=lead_out(lead),
            submissions=[submission_out(s) for s in submissions],
            consent_events=[consent_event_out(e, n) for e, n in events],
            consent_state=consent_state_out(submissions, [e for e, _ in events]),
        )

    @post(
        "/{lead_id:str}/consents/withdraw",
        status_code=200,
        summary="Withdraw consents the person asked the CRM to",
        opt={"permission": "leads:write"},
    )
    async def withdraw(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        lead_id: FromPath[str],
        data: JSONBody[WithdrawRequest],
    ) -> WithdrawResult:
        withdrawn = await lifecycle.withdraw_consents(
            db_session, workspace_id=caller.workspace_id, lead_id=lead_id, purposes=data.purposes, indication="crm"
        )
        return WithdrawResult(withdrawn=withdrawn)
