"""Request and response bodies of the workspaces slice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

__all__ = (
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyList",
    "ApiKeyOut",
    "AuditEventList",
    "AuditEventOut",
    "Caller",
    "WorkspaceOut",
)


class Caller(msgspec.Struct, frozen=True):
    """Who is calling the admin API: set by the Bearer guard, read by every handler."""

    workspace_id: str
    api_key_id: str

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"api_key:{self.api_key_id}"


class WorkspaceOut(msgspec.Struct):
    id: str
    name: str
    created_at: datetime


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="What the key is for.")]


class ApiKeyOut(msgspec.Struct):
    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(msgspec.Struct):
    id: str
    name: str
    prefix: str
    created_at: datetime
    key: Annotated[str, msgspec.Meta(description="The key itself. Shown once: only its hash is stored.")]


class ApiKeyList(msgspec.Struct):
    items: list[ApiKeyOut]


class AuditEventOut(msgspec.Struct):
    id: str
    actor: str
    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any]
    created_at: datetime


class AuditEventList(msgspec.Struct):
    items: list[AuditEventOut]
    next_cursor: str | None
