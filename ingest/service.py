"""The ingest slice's service: submitting (for routes, embeds and sources) and reading leads and submissions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from consent import service as consent
from ingest.lifecycle import (
    confirm_submission,
    lead_consent_states,
    pending_confirmation,
    receipt_of,
    withdraw_consents,
    withdraw_from_receipt,
)
from ingest.parse import TRACKING_FIELDS, clean_text
from ingest.pipeline import (
    Outcome,
    RequestFacts,
    SubmitServices,
    definition_of,
    embed_origin,
    published_form,
    run_pipeline,
)
from ingest.privacy import erase_person, person_export
from ingest.public import client_address, outcome_response, rate_limit_submissions, read_submission, submit_services
from ingest.spam import issue_render_token, own_origin, request_origin
from ingest.views import consent_state_out, export_document
from leads import service as leads

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from consent.models import ConsentEvent, ConsentNotice
    from leads.models import Lead, Submission

__all__ = (
    "TRACKING_FIELDS",
    "Outcome",
    "RequestFacts",
    "SubmitServices",
    "clean_text",
    "client_address",
    "confirm_submission",
    "consent_state_out",
    "definition_of",
    "embed_origin",
    "erase_person",
    "export_document",
    "get_lead",
    "issue_render_token",
    "lead_consent_states",
    "outcome_response",
    "own_origin",
    "pending_confirmation",
    "person_export",
    "published_form",
    "rate_limit_submissions",
    "read_submission",
    "receipt_of",
    "request_origin",
    "run_pipeline",
    "submit_services",
    "withdraw_consents",
    "withdraw_from_receipt",
)


async def get_lead(
    session: AsyncSession, *, workspace_id: str, lead_id: str
) -> tuple[Lead, list[Submission], list[tuple[ConsentEvent, ConsentNotice]]]:
    """A lead with its submissions (newest first) and its consent history (oldest first).

    Raises:
        NotFound: No such lead in this workspace.
    """
    lead, submissions = await leads.get_lead(session, workspace_id=workspace_id, lead_id=lead_id)
    return lead, submissions, await consent.events_of_lead(session, lead_id=lead.id)
