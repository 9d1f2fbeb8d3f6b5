"""Request and response bodies of the consent slice: notices, receipts, and a lead's consent history and state."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from leads.schemas import LeadOut, SubmissionOut

__all__ = (
    "ConsentEventOut",
    "ConsentReceipt",
    "ConsentStateOut",
    "LeadDetail",
    "NoticeList",
    "NoticeOut",
    "ReceiptController",
    "ReceiptNotice",
    "ReceiptPurpose",
    "ReceiptSubject",
    "WithdrawRequest",
    "WithdrawResult",
)


class NoticeOut(msgspec.Struct):
    id: str
    purpose: str
    channel: str
    text: str
    text_sha256: str
    version: int
    created_at: datetime


class NoticeList(msgspec.Struct):
    items: list[NoticeOut]


class ReceiptSubject(msgspec.Struct):
    """The email and phone this submission itself carried (empty once erased): never the lead's stored values."""

    email: str | None
    phone: str | None


class ReceiptController(msgspec.Struct):
    """Who collected the consent: the workspace."""

    name: str
    contact: str | None


class ReceiptNotice(msgspec.Struct):
    url: str | None
    language: str


class ReceiptPurpose(msgspec.Struct):
    """One purpose as agreed at collection, and where it stands now."""

    purpose: str
    channel: str
    state: str
    """At collection: ``given`` or ``refused``."""
    current_state: str
    """Now: ``given``, ``refused``, ``confirmed`` or ``withdrawn``; ``pending`` while a double opt-in submission waits
    for its confirmation (its choices count only once confirmed)."""
    notice_version: int
    notice_text: str
    """The exact text the person was shown, as it was then."""
    text_sha256: str
    recorded_at: datetime
    withdrawable: bool


class ConsentReceipt(msgspec.Struct):
    """A consent receipt in the shape of ISO/IEC TS 27560:2023 (and the Kantara Consent Receipt v1.1 before it)."""

    schema_version: str
    receipt_id: str
    receipt_url: str
    event_time: datetime
    collection_method: str
    """``web form`` (the hosted page or a browser post), ``api`` (a JSON client), ``source`` (an inbound source)."""
    data_subject: ReceiptSubject
    controller: ReceiptController
    privacy_notice: ReceiptNotice
    purposes: list[ReceiptPurpose]
    withdrawal_method: str
    repeated: bool = False
    """The submission repeated one received shortly before, so it recorded no consent of its own."""
    awaiting_confirmation: bool = False
    """Double opt-in: nothing counts until the person follows the confirmation link."""


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
