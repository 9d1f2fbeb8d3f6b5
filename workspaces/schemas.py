"""Request and response bodies of the workspaces slice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = (
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyList",
    "ApiKeyOut",
    "AuditEventList",
    "AuditEventOut",
    "Caller",
    "WorkspaceOut",
    "WorkspaceSettings",
    "WorkspaceSettingsPatch",
    "WorkspaceUpdate",
)

_Email = Annotated[
    str,
    Meta(
        max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="An email address, e.g. privacy@example.com"
    ),
]
_HttpUrl = Annotated[str, Meta(max_length=2_000, pattern=r"^https?://[^\s/?#]+[^\s]*$", description="An http(s) URL")]
_SpamDays = Annotated[int, Meta(ge=1, le=3_650)]
_AttemptBodyDays = Annotated[int, Meta(ge=1, le=3_650)]
_SubmissionDays = Annotated[int, Meta(ge=1, le=36_500)]


class Caller(msgspec.Struct, frozen=True):
    """Who is calling the admin API: set by the Bearer guard, read by every handler."""

    workspace_id: str
    api_key_id: str

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"api_key:{self.api_key_id}"


class WorkspaceSettings(msgspec.Struct, forbid_unknown_fields=True):
    """What a workspace says about itself to prospects, and how long it keeps what they send."""

    contact_email: _Email | None = None
    """The controller's contact for privacy questions, shown on consent receipts."""
    privacy_policy_url: _HttpUrl | None = None
    """The workspace's privacy policy, linked from consent receipts."""
    retain_spam_days: _SpamDays = 30
    """Submissions judged spam are deleted this many days after they arrived."""
    retain_attempt_bodies_days: _AttemptBodyDays = 30
    """The response bodies receivers sent back to webhook deliveries are blanked after this many days."""
    retain_submissions_days: _SubmissionDays | None = None
    """Submissions of any verdict are deleted this many days after they arrived; ``null`` keeps them until the
    person is erased. Consent events outlive them (they lose only the link to the submission)."""


class WorkspaceSettingsPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A partial settings update: only the keys given change; ``null`` clears the optional ones."""

    contact_email: _Email | UnsetType | None = UNSET
    privacy_policy_url: _HttpUrl | UnsetType | None = UNSET
    retain_spam_days: _SpamDays | UnsetType = UNSET
    retain_attempt_bodies_days: _AttemptBodyDays | UnsetType = UNSET
    retain_submissions_days: _SubmissionDays | UnsetType | None = UNSET


class WorkspaceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A partial update of the calling workspace: its name, and its settings key by key."""

    name: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    settings: WorkspaceSettingsPatch | UnsetType = UNSET


class WorkspaceOut(msgspec.Struct):
    id: str
    name: str
    settings: WorkspaceSettings
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
