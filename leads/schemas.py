"""Response bodies of the leads slice: leads, submissions, and the raw payloads inbound sources received."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

__all__ = ("LeadList", "LeadOut", "PayloadProblem", "SourcePayloadOut", "SubmissionList", "SubmissionOut", "Verdict")

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


class PayloadProblem(msgspec.Struct):
    field: str
    """The form field, the rule (``id_field``) or the input the problem is about."""
    code: str
    message: str


class SourcePayloadOut(msgspec.Struct):
    """A request an inbound source received (or a lead it fetched), secrets redacted, and what it became."""

    id: str
    source_id: str
    received_at: datetime
    method: str
    content_type: str
    query: str
    """The query string, credentials redacted."""
    body_format: Literal["json", "form", "text", "none"]
    """``json``: ``body`` is the decoded JSON; ``form`` and ``text``: the body as text; ``none``: no body (or one
    too large to read)."""
    body: Any
    outcome: Literal["accepted", "duplicate", "test", "rejected"]
    reason: str | None
    """Why a duplicate (``same_id``, ``same_content``) or a refusal (``unauthorized``, ``invalid``, ``mapping``,
    ``too_large``, ``unreadable``, ``rate_limited``, ``disabled``, …)."""
    detail: str | None
    """What the sender was told, for a refusal."""
    problems: list[PayloadProblem]
    """What the source's rules could not read, and the values the form refused."""
    submission_id: str | None
    lead_id: str | None
