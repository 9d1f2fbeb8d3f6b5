"""Admin API of invitations: list the pending ones, invite someone by email and role (the link shown once, and mailed
when SMTP is configured), revoke one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from core.database import call_after_commit
from workspaces import invitations
from workspaces.account_mail import invitation_message
from workspaces.models import Member, Workspace
from workspaces.schemas import Caller, InvitationCreate, InvitationCreated, InvitationList, InvitationOut

if TYPE_CHECKING:
    from litestar.datastructures import State

    from core.mail import Mailer
    from core.settings import Settings
    from workspaces.models import Invitation

__all__ = ("InvitationController", "send_invitation")


def _out(invitation: Invitation) -> InvitationOut:
    return InvitationOut(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        invited_by=invitation.invited_by,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


async def send_invitation(
    session: AsyncSession, state: State, caller: Caller, *, email: str, role: str
) -> InvitationCreated:
    """Invite ``email`` with ``role`` in the request's transaction; when SMTP is configured the link is mailed in the
    background once that transaction has committed, so that it works by the time it arrives. The API and the
    console's Members page both invite through here."""
    settings: Settings = state.settings
    mailer: Mailer = state.mailer
    invitation, token = await invitations.invite(
        session,
        workspace_id=caller.workspace_id,
        email=email,
        role=role,
        by=caller,
        max_age_seconds=settings.invitation_max_age_seconds,
    )
    link = settings.public_base_url.rstrip("/") + invitations.invitation_path(token)
    if mailer.configured:
        workspace = await session.get(Workspace, caller.workspace_id)
        inviter = await session.get(Member, caller.member_id) if caller.member_id else None
        workspace_name = workspace.name if workspace is not None else "a workspace"
        message = invitation_message(
            mailer,
            to=invitation.email,
            link=link,
            workspace=workspace_name,
            inviter=inviter.name if inviter is not None else f"The team of {workspace_name}",
            role=invitation.role,
            expires_at=invitation.expires_at,
        )
        call_after_commit(session, lambda: mailer.in_background(lambda: mailer.send(message), what="invitation mail"))
    return InvitationCreated(**msgspec.structs.asdict(_out(invitation)), link=link, mailed=mailer.configured)


class InvitationController(Controller):
    """Invitations to the workspace, by email and role."""

    path = "/invitations"
    tags = ["members"]  # noqa: RUF012

    @get("/", summary="The invitations that can still be accepted", opt={"permission": "invitations:read"})
    async def list_invitations(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]
    ) -> InvitationList:
        found = await invitations.list_pending(db_session, workspace_id=caller.workspace_id)
        return InvitationList(items=[_out(each) for each in found])

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Invite someone by email with a role; the single-use link is shown only here (and mailed)",
        opt={"permission": "invitations:write"},
    )
    async def create_invitation(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        data: JSONBody[InvitationCreate],
    ) -> InvitationCreated:
        return await send_invitation(db_session, request.app.state, caller, email=data.email, role=data.role)

    @delete(
        "/{invitation_id:str}",
        summary="Revoke a pending invitation: its link opens nothing",
        opt={"permission": "invitations:write"},
    )
    async def revoke_invitation(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], invitation_id: FromPath[str]
    ) -> None:
        await invitations.revoke_invitation(
            db_session, workspace_id=caller.workspace_id, invitation_id=invitation_id, by=caller
        )
