"""Request and response bodies of the workspaces slice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from workspaces.roles import KEY_SCOPES, Role, Scope, key_allows, role_allows

__all__ = (
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyList",
    "ApiKeyOut",
    "AuditEventList",
    "AuditEventOut",
    "Caller",
    "InvitationCreate",
    "InvitationCreated",
    "InvitationList",
    "InvitationOut",
    "MemberCreate",
    "MemberCreated",
    "MemberList",
    "MemberOut",
    "MemberUpdate",
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
    """Who is calling: a member in the console, or an API key, with what they may do in one workspace.

    Set by the guards (``workspaces.auth`` for the API, ``console.pages`` for the console), read by every handler.
    """

    workspace_id: str
    role: Role = "owner"
    """The member's role here; for a key, its creator's role now (a key without a creator acts as an owner)."""
    member_id: str | None = None
    """The member signed in, or the member who made the key."""
    api_key_id: str | None = None
    scopes: tuple[Scope, ...] = KEY_SCOPES
    """A key's scopes (a member in the console is limited by their role alone)."""
    forms_only: bool = False

    @property
    def actor(self) -> str:
        """How the audit log names this caller: the key when one is used, else the member."""
        if self.api_key_id is not None:
            return f"api_key:{self.api_key_id}"
        if self.member_id is not None:
            return f"member:{self.member_id}"
        return "cli"

    def allows(self, permission: str) -> bool:
        """Whether this caller holds ``permission`` (``workspaces.roles``)."""
        if self.api_key_id is None:
            return role_allows(self.role, permission)
        return key_allows(
            role=self.role, scopes=frozenset(self.scopes), forms_only=self.forms_only, permission=permission
        )


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
    require_mfa: bool = False
    """Every member must have a second factor (an authenticator app or a passkey): one without is sent to set one
    up after signing in and can do nothing else until they have. Only owners change it."""


class WorkspaceSettingsPatch(msgspec.Struct, forbid_unknown_fields=True):
    """A partial settings update: only the keys given change; ``null`` clears the optional ones."""

    contact_email: _Email | UnsetType | None = UNSET
    privacy_policy_url: _HttpUrl | UnsetType | None = UNSET
    retain_spam_days: _SpamDays | UnsetType = UNSET
    retain_attempt_bodies_days: _AttemptBodyDays | UnsetType = UNSET
    retain_submissions_days: _SubmissionDays | UnsetType | None = UNSET
    require_mfa: bool | UnsetType = UNSET


class WorkspaceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A partial update of the calling workspace: its name, and its settings key by key."""

    name: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    settings: WorkspaceSettingsPatch | UnsetType = UNSET


class WorkspaceOut(msgspec.Struct):
    id: str
    name: str
    settings: WorkspaceSettings
    created_at: datetime


_Scopes = Annotated[list[Scope], Meta(min_length=1, max_length=4, description="read, write, submit, admin")]


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="What the key is for.")]
    kind: Literal["member", "service"] | UnsetType = UNSET
    """``member``: the caller's own key; ``service``: a named key of the workspace. By default a member's own key,
    or a service key when the caller is a key made before members existed."""
    scopes: _Scopes | UnsetType = UNSET
    """What the key may do; by default every scope your role can use. Never more than your role allows."""
    forms_only: bool = False
    """Limit the key to the forms API (``/api/v1/forms``)."""


class ApiKeyOut(msgspec.Struct):
    id: str
    name: str
    prefix: str
    kind: str
    scopes: list[str]
    forms_only: bool
    created_by: Annotated[str | None, Meta(description="The member who made it; null: made before members.")]
    created_at: datetime
    last_used_at: Annotated[datetime | None, Meta(description="Updated at most once a minute.")]
    revoked_at: datetime | None


class ApiKeyCreated(msgspec.Struct):
    id: str
    name: str
    prefix: str
    kind: str
    scopes: list[str]
    forms_only: bool
    created_by: str | None
    created_at: datetime
    key: Annotated[str, msgspec.Meta(description="The key itself. Shown once: only its hash is stored.")]


class ApiKeyList(msgspec.Struct):
    items: list[ApiKeyOut]


_MemberEmail = Annotated[str, Meta(min_length=3, max_length=254, description="The member's email address.")]


class MemberCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A person to add to the workspace: a new account gets a one-time password, shown once in the answer."""

    email: _MemberEmail
    role: Role
    name: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    """For a new account; by default the part of the address before the @."""


class MemberUpdate(msgspec.Struct, forbid_unknown_fields=True):
    role: Role


class MemberOut(msgspec.Struct):
    id: str
    email: str
    name: str
    role: str
    created_at: datetime
    last_sign_in_at: datetime | None
    disabled: bool
    mfa: Annotated[bool, Meta(description="Whether the member has a second factor.")]


class MemberCreated(msgspec.Struct):
    member: MemberOut
    one_time_password: Annotated[
        str | None,
        Meta(description="For a new account: its password, shown only here; null when the account existed."),
    ]


class MemberList(msgspec.Struct):
    items: list[MemberOut]


class InvitationCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Someone to invite by email, with the role they will have (only owners invite owners)."""

    email: _MemberEmail
    role: Role


class InvitationOut(msgspec.Struct):
    id: str
    email: str
    role: str
    invited_by: Annotated[str, Meta(description="Who made it, as the audit log names them.")]
    created_at: datetime
    expires_at: datetime


class InvitationCreated(msgspec.Struct):
    id: str
    email: str
    role: str
    invited_by: str
    created_at: datetime
    expires_at: datetime
    link: Annotated[str, Meta(description="The invitation's link, single-use. Shown only here: only its hash is kept.")]
    mailed: Annotated[bool, Meta(description="Whether it is also being mailed (SMTP is configured).")]


class InvitationList(msgspec.Struct):
    items: list[InvitationOut]


class AuditEventOut(msgspec.Struct):
    id: str
    actor: str
    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any]
    address: Annotated[str | None, Meta(description="The client's address, truncated (IPv4 /24, IPv6 /48).")]
    created_at: datetime


class AuditEventList(msgspec.Struct):
    items: list[AuditEventOut]
    next_cursor: str | None
