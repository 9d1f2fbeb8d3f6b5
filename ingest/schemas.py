"""Response bodies of the ingest slice: submit answers, leads, submissions and their consent history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from leads.schemas import LeadOut, SubmissionOut

__all__ = (
    "ConsentEventOut",
    "ConsentStateOut",
    "ErasureResult",
    "LeadDetail",
    "PersonExport",
    "PersonRequest",
    "SubmitAccepted",
    "WithdrawRequest",
    "WithdrawResult",
)


class SubmitAccepted(msgspec.Struct):
    """The answer to a JSON submission. Spam and duplicates get this same answer: nothing to learn for a bot."""

    id: str
    status: Literal["accepted"] = "accepted"


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
