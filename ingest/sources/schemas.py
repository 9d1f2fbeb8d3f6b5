"""Request and response bodies of inbound sources."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = ("SourceCreate", "SourceCreated", "SourceKind", "SourceList", "SourceOut", "SourceUpdate")

SourceKind = Literal["standard_webhooks", "google_ads", "meta_lead_ads"]
_Name = Annotated[str, Meta(min_length=1, max_length=100)]
_Secret = Annotated[str, Meta(min_length=8, max_length=500)]


class SourceCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new source. Secrets Leadwire can make (the ``whsec_`` secret, Meta's verify token) are made when omitted."""

    kind: SourceKind
    form_id: str
    name: Annotated[str, Meta(min_length=1, max_length=200)] = "Inbound source"
    mapping: Annotated[dict[_Name, _Name], Meta(max_length=200)] = msgspec.field(default_factory=dict)
    """Source field (or Google Ads column id) to form field; Google Ads' standard columns map by default."""
    consent_purposes: Annotated[list[_Name], Meta(max_length=20)] = msgspec.field(default_factory=list)
    """The form's purposes that the source's own consent notice covered."""
    deliver_test_leads: bool = False
    google_key: _Secret | None = None
    """Google Ads: the key set in the lead form's webhook integration (made here when omitted)."""
    meta_app_secret: _Secret | None = None
    """Meta: the app secret that signs ``X-Hub-Signature-256``."""
    meta_page_access_token: _Secret | None = None
    """Meta: the page access token the Graph API is called with."""
    meta_verify_token: _Secret | None = None


class SourceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    mapping: Annotated[dict[_Name, _Name], Meta(max_length=200)] | UnsetType = UNSET
    consent_purposes: Annotated[list[_Name], Meta(max_length=20)] | UnsetType = UNSET
    deliver_test_leads: bool | UnsetType = UNSET
    meta_page_access_token: _Secret | UnsetType = UNSET


class SourceOut(msgspec.Struct):
    id: str
    kind: SourceKind
    name: str
    form_id: str
    url: str
    """Where the sender posts: ``{base}/hooks/{id}``. Unguessable, and checked with the sender's signature."""
    mapping: dict[str, str]
    consent_purposes: list[str]
    deliver_test_leads: bool
    created_at: datetime


class SourceCreated(SourceOut):
    """The source with its secrets: shown only now."""

    secrets: dict[str, str]


class SourceList(msgspec.Struct):
    items: list[SourceOut]
