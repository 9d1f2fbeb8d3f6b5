"""Admin API of the workspaces slice: the workspace, its API keys and its audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from core.pagination import DEFAULT_LIMIT, Limit
from workspaces import service
from workspaces.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    AuditEventList,
    AuditEventOut,
    Caller,
    WorkspaceOut,
    WorkspaceUpdate,
)

if TYPE_CHECKING:
    from workspaces.models import ApiKey, Workspace

__all__ = ("WorkspaceController",)


def _key_out(api_key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=api_key.id,
        name=api_key.name,
        prefix=service.key_display_prefix(api_key),
        created_at=api_key.created_at,
        revoked_at=api_key.revoked_at,
    )


def _workspace_out(workspace: Workspace) -> WorkspaceOut:
    return WorkspaceOut(
        id=workspace.id,
        name=workspace.name,
        settings=service.settings_of(workspace),
        created_at=workspace.created_at,
    )


class WorkspaceController(Controller):
    """The calling workspace, its keys and its audit log."""

    tags = ["workspace"]  # noqa: RUF012

    @get("/workspace", summary="The workspace the API key belongs to")
    async def get_workspace(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]
    ) -> WorkspaceOut:
        workspace = await service.get_workspace(db_session, caller.workspace_id)
        return _workspace_out(workspace)

    @patch("/workspace", summary="Rename the workspace or change its settings (contact, retention periods)")
    async def update_workspace(
        self,
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[Caller],
        data: JSONBody[WorkspaceUpdate],
    ) -> WorkspaceOut:
        workspace = await service.update_workspace(
            db_session, workspace_id=caller.workspace_id, data=data, actor=caller.actor
        )
        return _workspace_out(workspace)

    @get("/api-keys", summary="List API keys (never the keys themselves)")
    async def list_api_keys(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller]
    ) -> ApiKeyList:
        keys = await service.list_api_keys(db_session, workspace_id=caller.workspace_id)
        return ApiKeyList(items=[_key_out(key) for key in keys])

    @post("/api-keys", status_code=HTTP_201_CREATED, summary="Create an API key; the key is shown only here")
    async def create_api_key(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], data: JSONBody[ApiKeyCreate]
    ) -> ApiKeyCreated:
        api_key, key = await service.create_api_key(
            db_session, workspace_id=caller.workspace_id, name=data.name, actor=caller.actor
        )
        return ApiKeyCreated(
            id=api_key.id,
            name=api_key.name,
            prefix=service.key_display_prefix(api_key),
            created_at=api_key.created_at,
            key=key,
        )

    @delete("/api-keys/{key_id:str}", summary="Revoke an API key at once")
    async def revoke_api_key(
        self, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Caller], key_id: FromPath[str]
    ) -> None:
        await service.revoke_api_key(db_session, workspace_id=caller.workspace_id, key_id=key_id, actor=caller.actor)

    @get("/audit-events", summary="The workspace's audit log, newest first")
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
                created_at=e.created_at,
            )
            for e in events
        ]
        return AuditEventList(items=items, next_cursor=next_cursor)
