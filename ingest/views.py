"""The API's views of the ingest slice's rows: what the admin API answers and the console exports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from consent import service as consent
from ingest.schemas import ConsentEventOut, ConsentStateOut, LeadOut, PersonExport, SubmissionOut

if TYPE_CHECKING:
    from consent.models import ConsentEvent, ConsentNotice
    from ingest.models import Lead, Submission

__all__ = ("consent_event_out", "consent_state_out", "export_document", "lead_out", "submission_out")


def lead_out(lead: Lead) -> LeadOut:
    return LeadOut(
        id=lead.id,
        email=lead.email,
        phone=lead.phone,
        name=lead.name,
        fields=lead.fields,
        submission_count=lead.submission_count,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
    )


def submission_out(submission: Submission) -> SubmissionOut:
    return SubmissionOut(
        id=submission.id,
        form_id=submission.form_id,
        form_version=submission.form_version,
        lead_id=submission.lead_id,
        verdict=submission.verdict,  # type: ignore[arg-type]
        spam_reason=submission.spam_reason,
        source=submission.source,
        fields=submission.fields,
        consents=submission.consents,
        page_url=submission.page_url,
        referrer=submission.referrer,
        utm=submission.utm,
        user_agent=submission.user_agent,
        client_ip=submission.client_ip,
        event_type=submission.event_type,
        message_id=submission.message_id,
        created_at=submission.created_at,
    )


def consent_state_out(submissions: list[Submission], events: list[ConsentEvent]) -> list[ConsentStateOut]:
    """Where each purpose of a lead stands, from its submissions and its consent events (oldest first)."""
    unconfirmed = {s.id for s in submissions if s.confirmation == "pending"}
    return msgspec.convert(consent.state_summary(events, unconfirmed=unconfirmed), list[ConsentStateOut])


def consent_event_out(event: ConsentEvent, notice: ConsentNotice) -> ConsentEventOut:
    return ConsentEventOut(
        id=event.id,
        purpose=event.purpose,
        channel=event.channel,
        state=event.state,
        indication=event.indication,
        form_id=event.form_id,
        submission_id=event.submission_id,
        notice_id=notice.id,
        notice_version=notice.version,
        notice_text=notice.text,
        text_sha256=notice.text_sha256,
        page_url=event.page_url,
        recorded_at=event.recorded_at,
    )


def export_document(found: dict[str, Any]) -> PersonExport:
    """A person's export (what ``person_export`` found) as the document the API and the console hand out."""
    return PersonExport(
        leads=[lead_out(lead) for lead in found["leads"]],
        submissions=[submission_out(s) for s in found["submissions"]],
        consent_events=[consent_event_out(e, n) for e, n in found["consent_events"]],
    )
