"""Request and response bodies of inbound sources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from core.errors import FieldError
from leads.schemas import SourcePayloadOut

__all__ = (
    "FetchList",
    "FetchOut",
    "PushAnswer",
    "PushedLead",
    "SourceActivityOut",
    "SourceAuth",
    "SourceAuthOut",
    "SourceCreate",
    "SourceCreated",
    "SourceKind",
    "SourceList",
    "SourceOut",
    "SourcePayloadList",
    "SourcePullOut",
    "SourceUpdate",
    "TriedLead",
    "TryOut",
)

SourceKind = Literal[
    "generic",
    "standard_webhooks",
    "google_ads",
    "meta_lead_ads",
    "indiamart",
    "justdial",
    "tradeindia",
    "99acres",
    "magicbricks",
    "housing",
    "typeform",
    "tally",
    "jotform",
]
_Name = Annotated[str, Meta(min_length=1, max_length=100)]
_Path = Annotated[str, Meta(min_length=1, max_length=200, description="A path into the payload: a.b[0].c")]
_Secret = Annotated[str, Meta(min_length=8, max_length=500)]
_GoogleKey = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=500,
        pattern="^[^\\x00-\\x1f\\x7f]+$",
        description="Any printable text; Google's own sample is testkey. A short key is a weak one.",
    ),
]
_Value = Annotated[str, Meta(max_length=500)]
_Region = Annotated[str, Meta(pattern="^[A-Za-z]{2}$", description="ISO 3166 country code, such as IN")]
_Mapping = Annotated[dict[_Path, _Name], Meta(max_length=200)]
_Join = Annotated[dict[_Name, Annotated[list[_Path], Meta(min_length=1, max_length=10)]], Meta(max_length=20)]
_Defaults = Annotated[dict[_Name, _Value], Meta(max_length=50)]
_Pull = Annotated[dict[_Name, _Value], Meta(max_length=20)]


class SourceAuth(msgspec.Struct, forbid_unknown_fields=True):
    """How a generic source's sender proves itself. ``value`` is the key, the Basic password or the HMAC key:
    made here when omitted, shown once, stored encrypted."""

    type: Literal["url", "header", "query", "body", "basic", "hmac"]
    name: _Name | None = None
    """The header, query parameter or body field with the key; for ``hmac``, the header with the signature."""
    value: _Secret | None = None
    username: _Name | None = None
    """HTTP Basic's user name."""
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: Annotated[str, Meta(max_length=40)] = ""
    """What precedes the signature in its header, such as ``sha256=``."""


class SourceAuthOut(msgspec.Struct):
    """A source's authentication, never its secret."""

    type: str
    name: str | None = None
    username: str | None = None
    algorithm: str | None = None
    encoding: str | None = None
    prefix: str | None = None


class SourceCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new source. Secrets Leadwire can make (the ``whsec_`` secret, Meta's verify token) are made when omitted."""

    kind: SourceKind
    form_id: str
    name: Annotated[str, Meta(min_length=1, max_length=200)] = "Inbound source"
    mapping: _Mapping = msgspec.field(default_factory=dict)
    """Path in the payload (or Google Ads column id) to form field; a preset's own mapping applies where this
    one does not map a form field."""
    join: _Join = msgspec.field(default_factory=dict)
    """Form field to paths joined with a space: ``{"name": ["first_name", "last_name"]}``."""
    defaults: _Defaults = msgspec.field(default_factory=dict)
    """Form field to the value it takes when the payload has none."""
    phone_region: _Region | None = None
    """Read national phone numbers as of this country."""
    id_field: _Path | None = None
    """Path to the sender's own lead id: a repeat of that id is not a second lead."""
    auth: SourceAuth | None = None
    """``generic`` sources: how the sender proves itself (required)."""
    pull: _Pull | None = None
    """Providers with a pull API: its credentials, such as ``{"crm_key": "…"}`` for IndiaMART."""
    enabled: bool = True
    consent_purposes: Annotated[list[_Name], Meta(max_length=20)] = msgspec.field(default_factory=list)
    """The form's purposes that the source's own consent notice covered."""
    deliver_test_leads: bool = False
    google_key: _GoogleKey | None = None
    """Google Ads: the key set in the lead form's webhook integration, whatever the user chose there (Google's
    "send test data" sample uses ``testkey``); a short key is easily guessed. Made here, long, when omitted."""
    meta_app_secret: _Secret | None = None
    """Meta: the app secret that signs ``X-Hub-Signature-256``."""
    meta_page_access_token: _Secret | None = None
    """Meta: the page access token the Graph API is called with."""
    meta_verify_token: _Secret | None = None


class SourceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    mapping: _Mapping | UnsetType = UNSET
    join: _Join | UnsetType = UNSET
    defaults: _Defaults | UnsetType = UNSET
    phone_region: _Region | UnsetType | None = UNSET
    id_field: _Path | UnsetType | None = UNSET
    pull: _Pull | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    consent_purposes: Annotated[list[_Name], Meta(max_length=20)] | UnsetType = UNSET
    deliver_test_leads: bool | UnsetType = UNSET
    meta_page_access_token: _Secret | UnsetType = UNSET


class SourcePullOut(msgspec.Struct):
    """Where the pulling of a source stands (never its credentials)."""

    cursor: datetime | None
    """The end of the last window whose every lead is stored; the next pull starts a little before it."""
    last_pull_at: datetime | None
    """When the provider was last called."""
    next_pull_at: datetime
    blocked_until: datetime | None
    """The provider refuses calls until then (IndiaMART, after a call made too soon); none is made before."""
    last_error: str | None
    """Why the last window could not be taken, or a lead of it did not fit the form."""
    last_error_at: datetime | None
    pulls: int
    """Windows tried."""
    failures: int
    records: int
    """Records the provider answered, repeats included."""
    stored: int
    rejected: int


class SourceOut(msgspec.Struct):
    id: str
    kind: SourceKind
    name: str
    form_id: str
    url: str
    """Where the sender posts: ``{base}/hooks/{id}``. Unguessable, and checked with the sender's signature."""
    mapping: dict[str, str]
    join: dict[str, list[str]]
    defaults: dict[str, str]
    phone_region: str | None
    id_field: str | None
    auth: SourceAuthOut | None
    pulls: bool
    """Whether Leadwire pulls this source's leads from its provider (pull credentials were given)."""
    enabled: bool
    consent_purposes: list[str]
    deliver_test_leads: bool
    created_at: datetime
    pull: SourcePullOut | None = None
    """Where its pulling stands, for a source that pulls."""


class SourceCreated(SourceOut, kw_only=True):
    """The source with its secrets: shown only now."""

    secrets: dict[str, str]


class SourceList(msgspec.Struct):
    items: list[SourceOut]


class FetchOut(msgspec.Struct):
    """A Meta lead acknowledged to Meta, and its fetch from the Graph API."""

    id: str
    source_id: str
    external_id: str
    """Meta's leadgen id."""
    status: Literal["pending", "done", "failed"]
    """``pending``: waiting for its (next) attempt; ``done``: the lead is stored; ``failed``: given up on (retry it
    with ``POST .../fetches/{id}/retry``)."""
    attempts: int
    """Failed attempts since it was queued or last retried."""
    last_error: str | None
    next_attempt_at: datetime | None
    """When a pending fetch is next attempted."""
    submission_id: str | None
    """The submission the lead became, once done."""
    created_at: datetime
    updated_at: datetime


class FetchList(msgspec.Struct):
    items: list[FetchOut]
    next_cursor: str | None


class SourceActivityOut(msgspec.Struct):
    """What a source received: every request it was sent (and every lead Leadwire fetched for it) by outcome."""

    source_id: str
    received: int
    """``accepted`` + ``duplicate`` + ``test`` + ``rejected``."""
    accepted: int
    duplicate: int
    test: int
    """Leads the sender marked as tests (Google Ads ``is_test``)."""
    rejected: int
    duplicate_by_reason: dict[str, int]
    """``same_id``: the sender sent the same lead again; ``same_content``: the same person sent the same values
    inside the form's de-duplication window."""
    rejected_by_reason: dict[str, int]
    """``unauthorized``, ``invalid``, ``mapping``, ``too_large``, ``unreadable``, ``rate_limited``, ``disabled``, …"""
    last_received_at: datetime | None
    last_lead_at: datetime | None
    """When the last lead was stored (accepted)."""


class SourcePayloadList(msgspec.Struct):
    items: list[SourcePayloadOut]
    """The source's last 50 requests, newest first, secrets redacted, each with what it became."""


class PushedLead(msgspec.Struct, omit_defaults=True):
    """One lead of a push: the submission it is stored as, or why the form refused it."""

    submission_id: str | None = None
    duplicate: bool | None = None
    """The same person sent the same values within the form's de-duplication window: stored, not delivered again.
    A sender's retry of the same lead is answered exactly as the first time (with ``Idempotent-Replayed: true``)."""
    errors: list[FieldError] | None = None


class PushAnswer(msgspec.Struct):
    """What a sender is told: each lead of its request, in order."""

    received: int
    leads: list[PushedLead]


class TriedLead(msgspec.Struct):
    """One lead of a sample, as the source's rules and the form would take it."""

    lead_id: str | None
    """The sender's id of the lead (the rules' ``id_field``): a repeat of it is not a second lead."""
    mapped: dict[str, list[Any]]
    """Form field to the values the rules read, as sent (phones in E.164 when the rules give a region)."""
    values: dict[str, Any]
    """The values as they would be stored: checked and normalised (those that pass)."""
    consents: list[str]
    problems: list[FieldError]
    """Every mapping problem and validation error."""


class TryOut(msgspec.Struct):
    leads: list[TriedLead]
