"""Admin routes of the privacy slice: export everything about a person, or erase it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from privacy import service
from privacy.schemas import (
    ErasureResult,
    PersonExport,
    PersonRequest,
)
from privacy.views import export_document
from workspaces.schemas import Caller

if TYPE_CHECKING:
    from core.database import Database

__all__ = ("PrivacyController",)


class PrivacyController(Controller):
    """Data subject rights: export everything about a person, or erase it."""

    path = "/privacy"
    tags = ["privacy"]  # noqa: RUF012

    @get(
        "/export",
        summary="Every lead, submission and consent event of a person (by email or phone)",
        opt={"permission": "privacy:export"},
    )
    async def export(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        email: FromQuery[str | None] = None,
        phone: FromQuery[str | None] = None,
    ) -> PersonExport:
        found = await service.person_export(db_session, workspace_id=caller.workspace_id, email=email, phone=phone)
        return export_document(found)

    @post(
        "/erase",
        status_code=200,
        summary="Erase a person's personal data, keeping tombstones for audit",
        opt={"permission": "privacy:erase"},
    )
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
