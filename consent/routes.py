"""Admin API of the consent slice: the notice versions of a form."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from consent import service
from consent.schemas import NoticeList, NoticeOut
from workspaces.schemas import Caller

__all__ = ("NoticeController",)


class NoticeController(Controller):
    """Every consent text a form has shown, each with its hash and version."""

    tags = ["consent"]  # noqa: RUF012

    @get("/forms/{form_id:str}/consent-notices", summary="Every version of a form's consent texts")
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
