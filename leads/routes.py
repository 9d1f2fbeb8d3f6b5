"""Admin routes of the leads slice: listing leads and submissions (a lead's detail is in ``consent.routes``)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from core.pagination import DEFAULT_LIMIT, Limit
from leads import service
from leads.schemas import LeadList, SubmissionList, Verdict
from leads.views import lead_out, submission_out
from workspaces.schemas import Caller

__all__ = ("LeadController", "SubmissionController")


class LeadController(Controller):
    """The workspace's leads: one per person."""

    path = "/leads"
    tags = ["leads"]  # noqa: RUF012

    @get("/", summary="List leads, newest first; search by email or phone", opt={"permission": "leads:read"})
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


class SubmissionController(Controller):
    """Every submission, including duplicates and spam, which are kept but never delivered."""

    path = "/submissions"
    tags = ["submissions"]  # noqa: RUF012

    @get("/", summary="List submissions, newest first, by form and verdict", opt={"permission": "leads:read"})
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
