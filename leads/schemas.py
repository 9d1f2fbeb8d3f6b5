"""Response bodies of the leads slice: leads and submissions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

__all__ = ("LeadList", "LeadOut", "SubmissionList", "SubmissionOut", "Verdict")

Verdict = Literal["accepted", "duplicate", "spam", "test"]


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
    source_lead_id: str | None
    """The sender's own id of the lead, for a lead from an inbound source that gave one (null for form posts)."""
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
