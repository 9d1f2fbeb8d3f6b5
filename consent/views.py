"""The API's views of consent events and where each purpose of a lead stands."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from consent import service as consent
from consent.schemas import ConsentEventOut, ConsentStateOut

if TYPE_CHECKING:
    from consent.models import ConsentEvent, ConsentNotice
    from leads.models import Submission

__all__ = ("consent_event_out", "consent_state_out")


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
