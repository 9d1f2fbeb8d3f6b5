"""Admin API of the workspaces slice: the workspace, its members, its API keys and its audit log."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from core.pagination import DEFAULT_LIMIT, Limit
from workspaces import keys, members, passwords, service
from workspaces.audit import audit_csv
from workspaces.factors import factors_of
from workspaces.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    AuditEventList,
    AuditEventOut,
    Caller,
    MemberCreate,
    MemberCreated,
    MemberList,
    MemberOut,
    MemberUpdate,
    WorkspaceOut,
    WorkspaceUpdate,
)

if TYPE_CHECKING:
    from core.database import Database
    from workspaces.members import MemberOfWorkspace
    from workspaces.models import ApiKey, Workspace

__all__ = ("MemberController", "WorkspaceController")


def _key_out(api_key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=api_key.id,
        name=api_key.name,
        prefix=keys.key_display_prefix(api_key),
        kind=api_key.kind,
        scopes=list(api_key.scopes),
        forms_only=api_key.forms_only,
        created_by=api_key.created_by_id,
        created_at=api_key.created_at,
        last_used_at=api_key.last_used_at,
        revoked_at=api_key.revoked_at,
    )


def _workspace_out(workspace: Workspace) -> WorkspaceOut:
    return WorkspaceOut(
        id=workspace.id,
        name=workspace.name,
        settings=service.settings_of(workspace),
        created_at=workspace.created_at,
    )


def member_out(found: MemberOfWorkspace) -> MemberOut:
    """A member as the API shows them: never their password hash or their second factors."""
    member = found.member
    return MemberOut(
        id=member.id,
        email=member.email,
        name=member.name,
        role=found.role,
        created_at=member.created_at,
        last_sign_in_at=member.last_sign_in_at,
        disabled=member.disabled_at is not None,
        mfa=factors_of(member.mfa).any,
    )


class WorkspaceController(Controller):
    """The calling workspace, its keys and its audit log."""

    tags = ["workspace"]  # noqa: RUF012

    @get("/workspace", summary="The workspace the API key belongs to", opt={"permission": "workspace:read"})
    async def get_workspace(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]
    ) -> WorkspaceOut:
        workspace = await service.get_workspace(db_session, caller.workspace_id)
        return _workspace_out(workspace)

    @patch(
        "/workspace",
        summary="Rename the workspace or change its settings (contact, retention periods)",
        opt={"permission": "workspace:write"},
    )
    async def update_workspace(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        data: JSONBody[WorkspaceUpdate],
    ) -> WorkspaceOut:
        workspace = await service.update_workspace(
            db_session, workspace_id=caller.workspace_id, data=data, actor=caller.actor, role=caller.role
        )
        return _workspace_out(workspace)

    @get("/api-keys", summary="List API keys (never the keys themselves)", opt={"permission": "keys:read"})
    async def list_api_keys(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]
    ) -> ApiKeyList:
        found = await keys.list_api_keys(db_session, workspace_id=caller.workspace_id)
        return ApiKeyList(items=[_key_out(key) for key in found])

    @post(
        "/api-keys",
        status_code=HTTP_201_CREATED,
        summary="Create an API key, never with more scopes than your role; the key is shown only here",
        opt={"permission": "keys:write"},
    )
    async def create_api_key(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], data: JSONBody[ApiKeyCreate]
    ) -> ApiKeyCreated:
        api_key, key = await keys.create_api_key(
            db_session,
            workspace_id=caller.workspace_id,
            name=data.name,
            actor=caller.actor,
            creator=caller,
            kind=data.kind,
            scopes=data.scopes,
            forms_only=data.forms_only,
        )
        out = _key_out(api_key)
        return ApiKeyCreated(
            id=out.id,
            name=out.name,
            prefix=out.prefix,
            kind=out.kind,
            scopes=out.scopes,
            forms_only=out.forms_only,
            created_by=out.created_by,
            created_at=out.created_at,
            key=key,
        )

    @delete("/api-keys/{key_id:str}", summary="Revoke an API key at once", opt={"permission": "keys:write"})
    async def revoke_api_key(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], key_id: FromPath[str]
    ) -> None:
        await keys.revoke_api_key(db_session, workspace_id=caller.workspace_id, key_id=key_id, actor=caller.actor)

    @get("/audit-events", summary="The workspace's audit log, newest first", opt={"permission": "audit:read"})
    async def list_audit_events(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        limit: Limit = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> AuditEventList:
        events, next_cursor = await service.list_audit_events(
            db_session, workspace_id=caller.workspace_id, limit=limit, cursor=cursor
        )
        items = [
            AuditEventOut(
                id=e.id,
                actor=e.actor,
                action=e.action,
                target_type=e.target_type,
                target_id=e.target_id,
                details=e.details,
                address=e.address,
                created_at=e.created_at,
            )
            for e in events
        ]
        return AuditEventList(items=items, next_cursor=next_cursor)

    @get(
        "/audit-events/export",
        summary="The whole audit log as CSV, oldest first (owners only); the export itself is recorded",
        opt={"permission": "audit:export"},
        media_type="text/csv",
    )
    async def export_audit_events(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        format: FromQuery[Literal["csv"]] = "csv",  # noqa: A002 - the query parameter's name
    ) -> Stream:
        del format  # one format today; the parameter keeps the URL stable when another is added
        db: Database = request.app.state.db
        async with db.session(write=True) as session:  # this GET's own transaction only reads
            await service.record_audit(
                session,
                workspace_id=caller.workspace_id,
                actor=caller.actor,
                action="audit.exported",
                target_type="workspace",
                target_id=caller.workspace_id,
            )
        return Stream(
            audit_csv(db, workspace_id=caller.workspace_id),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-log.csv"', "Cache-Control": "no-store"},
        )


class MemberController(Controller):
    """The people in the workspace and their roles. Invitations come later; today a new account gets a one-time
    password, shown once."""

    path = "/members"
    tags = ["members"]  # noqa: RUF012

    @get("/", summary="The workspace's members and their roles", opt={"permission": "members:read"})
    async def list_members(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]
    ) -> MemberList:
        found = await members.list_members(db_session, workspace_id=caller.workspace_id)
        return MemberList(items=[member_out(each) for each in found])

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Add a person with a role; a new account's one-time password is shown only here",
        opt={"permission": "members:write"},
    )
    async def add_member(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], data: JSONBody[MemberCreate]
    ) -> MemberCreated:
        password = passwords.one_time_password()
        # Hashed before the transaction's first statement, so SQLite's writer is not held while it runs.
        hashed = await asyncio.to_thread(passwords.hash_password, password)
        found, created = await members.add_member(
            db_session,
            workspace_id=caller.workspace_id,
            email=data.email,
            role=data.role,
            password_hash=hashed,
            by=caller,
            name=data.name if isinstance(data.name, str) else None,
        )
        return MemberCreated(member=member_out(found), one_time_password=password if created else None)

    @patch(
        "/{member_id:str}",
        summary="Change a member's role (only owners make or demote owners; the last owner stays)",
        opt={"permission": "members:write"},
    )
    async def change_role(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        member_id: FromPath[str],
        data: JSONBody[MemberUpdate],
    ) -> MemberOut:
        found = await members.change_role(
            db_session, workspace_id=caller.workspace_id, member_id=member_id, role=data.role, by=caller
        )
        return member_out(found)

    @delete(
        "/{member_id:str}",
        summary="Remove a member: their sessions here end and their keys here are revoked",
        opt={"permission": "members:write"},
    )
    async def remove_member(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], member_id: FromPath[str]
    ) -> None:
        await members.remove_member(db_session, workspace_id=caller.workspace_id, member_id=member_id, by=caller)
