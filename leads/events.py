"""The ``data`` of the events about a lead (lead.*, consent.withdrawn), as published under ``webhooks`` in /schema.

The payloads are built as plain dicts where they are assembled (``ingest.persist._payload`` and
``_confirmation_payload``, ``consent.lifecycle.withdraw_consents`` and ``confirm_submission``,
``privacy.erase_person``): one batch writes thousands of them a second. These Structs describe them for the
OpenAPI document, and tests/e2e/test_webhook_event_schemas.py checks that what the app really sends validates
against what is published, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from core.openapi_completion import WebhookEvent

__all__ = (
    "LEAD_EVENTS",
    "ConfirmationRequestedData",
    "ConsentWithdrawnData",
    "ErasedBeforeDelivery",
    "LeadErasedData",
    "LeadEventData",
)

_Purpose = Annotated[str, Meta(description="The consent purpose, as the form names it (e.g. marketing)")]
_Channel = Annotated[str, Meta(description="How the person may be contacted for it: email, phone, sms, ...")]


class EventLeadContact(msgspec.Struct):
    """The person, as the lead holds them now."""

    id: Annotated[str, Meta(description="The lead's id (lead_…): one lead per person in the workspace")]
    email: str | None
    phone: Annotated[str | None, Meta(description="E.164, e.g. +919876543210")]
    name: str | None


class EventLead(EventLeadContact):
    """The person, as the lead holds them now, and whether this submission created the lead."""

    is_new: Annotated[bool, Meta(description="true for lead.created, false when a known person submitted again")]


class EventSubmission(msgspec.Struct):
    """What was submitted, where from."""

    id: Annotated[str, Meta(description="The submission's id (sub_…)")]
    form_id: str
    form_name: str
    fields: Annotated[dict[str, Any], Meta(description="The form's fields by name, checked and normalised")]
    page_url: str | None
    referrer: str | None
    utm: Annotated[dict[str, str], Meta(description="utm_source, utm_campaign, ... as the page or the post had them")]
    created_at: datetime
    receipt_url: Annotated[str | None, Meta(description="The person's consent receipt, with one-click withdrawal")]
    source: Annotated[str, Meta(description="form (a browser post), api (JSON), or the kind of inbound source")]
    source_lead_id: Annotated[
        str | None,
        Meta(
            description="The sender's own id of the lead (Google Ads lead_id, Meta leadgen id, the Standard Webhooks "
            "webhook-id, or the id a source's id_field reads); null for form posts and senders that gave none"
        ),
    ] = None


class EventConsent(msgspec.Struct):
    """A consent recorded by this event: given or refused with the submission, or confirmed through the link."""

    purpose: _Purpose
    channel: _Channel
    state: Literal["given", "refused", "confirmed"]
    recorded_at: datetime
    notice_version: Annotated[int | UnsetType, Meta(description="The version of the exact text shown")] = UNSET
    text_sha256: Annotated[str | UnsetType, Meta(description="SHA-256 of the exact text shown")] = UNSET


class EventConsentStanding(msgspec.Struct):
    """Where one purpose stands for the person now, over all their submissions."""

    purpose: _Purpose
    channel: _Channel
    state: Literal["given", "refused", "confirmed", "withdrawn", "pending"]
    since: datetime


class EventConfirmation(msgspec.Struct):
    """Double opt-in: when and from where the person confirmed (the address truncated, as stored)."""

    confirmed_at: datetime
    client_ip: str | None
    user_agent: str | None


class LeadEventData(msgspec.Struct):
    """The lead, the submission, the consents it recorded and where the person's consents stand now."""

    lead: EventLead
    submission: EventSubmission
    consent: list[EventConsent]
    consent_state: list[EventConsentStanding]
    confirmation: Annotated[
        EventConfirmation | UnsetType, Meta(description="Only on the event a double opt-in confirmation released")
    ] = UNSET


class EventSubmissionRef(msgspec.Struct):
    """The submission that waits for the person's confirmation."""

    id: str
    form_id: str
    form_name: str
    created_at: datetime


class ConfirmationRequestedData(msgspec.Struct):
    """Email ``confirmation_url`` to the person: the lead event follows only when they confirm."""

    lead: EventLeadContact
    submission: EventSubmissionRef
    confirmation_url: Annotated[str, Meta(description="Single use; the person confirms with one click")]
    expires_at: datetime | None


class WithdrawnConsent(msgspec.Struct):
    """A consent the person withdrew."""

    purpose: _Purpose
    channel: _Channel
    state: Literal["withdrawn"]
    recorded_at: datetime


class ConsentWithdrawnData(msgspec.Struct):
    """The person withdrew consents: stop using them for these purposes."""

    lead: EventLeadContact
    consent: list[WithdrawnConsent]
    indication: Annotated[str, Meta(description="How they asked: receipt (its link), crm (the API) or console")]
    consent_state: list[EventConsentStanding]


class ErasedLeadRef(msgspec.Struct):
    """The erased lead: its id is all that is left."""

    id: str


class LeadErasedData(msgspec.Struct):
    """The person's data was erased here: erase your copy too."""

    lead: ErasedLeadRef
    submissions: Annotated[list[str], Meta(description="The ids of the person's submissions, now blanked")]
    erased_at: datetime


class ErasedBeforeDelivery(msgspec.Struct):
    """What an event about a person holds once that person is erased (sent only if it is re-sent after that)."""

    lead: ErasedLeadRef
    # A plain boolean: generated clients cannot model a `true` constant (openapi-python-client drops the schema).
    erased: Annotated[bool, Meta(description="Always true")]
    note: str


LEAD_EVENTS = {
    "lead.created": WebhookEvent(
        "A new person submitted a form: the lead, the submission and the consents given",
        (LeadEventData, ErasedBeforeDelivery),
    ),
    "lead.updated": WebhookEvent(
        "A known person submitted again (de-duplicated by email or phone)", (LeadEventData, ErasedBeforeDelivery)
    ),
    "lead.confirmation_requested": WebhookEvent(
        "Double opt-in: your system must email the person the confirmation link; the lead arrives once they confirm",
        (ConfirmationRequestedData, ErasedBeforeDelivery),
    ),
    "lead.erased": WebhookEvent(
        "The person's data was erased (privacy request or retention): erase your copy too", (LeadErasedData,)
    ),
    "consent.withdrawn": WebhookEvent(
        "The person withdrew a consent (from their receipt, or through the CRM)",
        (ConsentWithdrawnData, ErasedBeforeDelivery),
    ),
}
"""The events of this slice: what each means, and the Structs its ``data`` is one of."""
