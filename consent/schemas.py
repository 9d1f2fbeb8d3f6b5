"""Request and response bodies of the consent slice."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = (
    "ConsentReceipt",
    "NoticeList",
    "NoticeOut",
    "ReceiptController",
    "ReceiptNotice",
    "ReceiptPurpose",
    "ReceiptSubject",
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
