"""The API's views of leads and submissions: what the admin API answers and the console exports."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from leads.schemas import LeadOut, PayloadProblem, SourcePayloadOut, SubmissionOut

if TYPE_CHECKING:
    from leads.models import Lead, SourcePayload, Submission

__all__ = ("lead_out", "source_payload_out", "submission_out")


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
        source_lead_id=submission.source_lead_id,
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


def source_payload_out(payload: SourcePayload) -> SourcePayloadOut:
    record = payload.record
    return SourcePayloadOut(
        id=payload.id,
        source_id=payload.source_id,
        received_at=payload.received_at,
        method=record.get("method", ""),
        content_type=record.get("content_type", ""),
        query=record.get("query", ""),
        body_format=record.get("body_format", "none"),
        body=record.get("body"),
        outcome=payload.outcome,  # type: ignore[arg-type]
        reason=payload.reason,
        detail=record.get("detail"),
        problems=msgspec.convert(record.get("problems") or [], list[PayloadProblem]),
        submission_id=payload.submission_id,
        lead_id=payload.lead_id,
    )
