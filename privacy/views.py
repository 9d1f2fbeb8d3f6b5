"""A person's export as the document the admin API answers and the console hands out."""

from __future__ import annotations

from typing import Any

from consent.views import consent_event_out
from leads.views import lead_out, source_payload_out, submission_out
from privacy.schemas import PersonExport

__all__ = ("export_document",)


def export_document(found: dict[str, Any]) -> PersonExport:
    """A person's export (what ``person_export`` found) as the document the API and the console hand out."""
    return PersonExport(
        leads=[lead_out(lead) for lead in found["leads"]],
        submissions=[submission_out(s) for s in found["submissions"]],
        consent_events=[consent_event_out(e, n) for e, n in found["consent_events"]],
        source_payloads=[source_payload_out(p) for p in found["source_payloads"]],
    )
