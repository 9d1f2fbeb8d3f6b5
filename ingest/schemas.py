"""Response bodies of the ingest slice: submit answers, leads, submissions and their consent history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

__all__ = (
    "ConsentEventOut",
    "ConsentStateOut",
    "ErasureResult",
    "LeadDetail",
    "LeadList",
    "LeadOut",
    "PersonExport",
    "PersonRequest",
    "SubmissionList",
    "SubmissionOut",
    "SubmitAccepted",
    "Verdict",
    "WithdrawRequest",
    "WithdrawResult",
)

Verdict = Literal["accepted", "duplicate", "spam", "test"]


class SubmitAccepted(msgspec.Struct):
    """The answer to a JSON submission. Spam and duplicates get this same answer: nothing to learn for a bot."""

    id: str
    status: Literal["accepted"] = "accepted"


class LeadOut(msgspec.Struct):
    id: str
    email: str | None
    phone: str | None
    name: str | None
    fields: dict[str, Any]
    """The values of the submission that created the lead, and of the confirmed double opt-in submissions since:
    an unconfirmed submission never changes a known person's lead (it is delivered in its own ``submission``)."""
    submission_count: int
    created_at: datetime
    updated_at: datetime


class LeadList(msgspec.Struct):
    items: list[LeadOut]
    next_cursor: str | None


class SubmissionOut(msgspec.Struct):
    id: str
    form_id: str
    form_version: int
    lead_id: str | None
    verdict: Verdict
    spam_reason: str | None
    source: str
    fields: dict[str, Any]
    consents: list[str]
    page_url: str | None
    referrer: str | None
    utm: dict[str, Any]
    user_agent: str | None
    client_ip: str | None
    """Truncated to /24 (IPv4) or /48 (IPv6)."""
    event_type: str | None
    message_id: str | None
    """The webhook message this submission was announced with (see ``/api/v1/deliveries``)."""
    created_at: datetime


class SubmissionList(msgspec.Struct):
    items: list[SubmissionOut]
    next_cursor: str | None


class ConsentEventOut(msgspec.Struct):
    id: str
    purpose: str
    channel: str
    state: str
    indication: str
    form_id: str
    submission_id: str | None
    notice_id: str
    notice_version: int
    notice_text: str
    """The exact text the person was shown."""
    text_sha256: str
    page_url: str | None
    recorded_at: datetime


class ConsentStateOut(msgspec.Struct):
    """Where one purpose stands for the person now, by the rule every view uses (README: consent)."""

    purpose: str
    channel: str
    state: str
    """``given``, ``confirmed``, ``withdrawn``, ``refused`` (never agreed), or ``pending`` (only in unconfirmed
    double opt-in submissions so far)."""
    since: datetime


class LeadDetail(msgspec.Struct):
    lead: LeadOut
    submissions: list[SubmissionOut]
    consent_events: list[ConsentEventOut]
    """Oldest first: the history of what this person agreed to, purpose by purpose."""
    consent_state: list[ConsentStateOut]
    """Where each purpose stands now, by purpose."""


class WithdrawRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The purposes a person asked the CRM to stop using their data for."""

    purposes: Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]], msgspec.Meta(min_length=1)]


class WithdrawResult(msgspec.Struct):
    withdrawn: list[str]
    """The purposes withdrawn now (those already withdrawn or never given are left as they were)."""


class PersonRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A person, by email or by phone (one of them)."""

    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(min_length=3, max_length=40)] | None = None


class PersonExport(msgspec.Struct):
    """Everything the workspace holds about one person."""

    leads: list[LeadOut]
    submissions: list[SubmissionOut]
    consent_events: list[ConsentEventOut]


class ErasureResult(msgspec.Struct):
    erased_leads: list[str]
    """Tombstones are kept under these ids; everything personal about them is gone."""
