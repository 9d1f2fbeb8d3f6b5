"""The API's views of the ingest slice's rows: what the admin API answers and the console exports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from consent import service as consent
from ingest.schemas import ConsentEventOut, ConsentStateOut, PersonExport
from leads.views import lead_out, submission_out

if TYPE_CHECKING:
    from consent.models import ConsentEvent, ConsentNotice
    from leads.models import Submission

__all__ = ("consent_event_out", "consent_state_out", "export_document")


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
