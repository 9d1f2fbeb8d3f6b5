"""The ingest slice's service: submitting (for routes, embeds and sources)."""

from __future__ import annotations

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
from ingest.public import client_address, outcome_response, rate_limit_submissions, read_submission, submit_services
from ingest.spam import issue_render_token, own_origin, request_origin

__all__ = (
    "TRACKING_FIELDS",
    "Outcome",
    "RequestFacts",
    "SubmitServices",
    "clean_text",
    "client_address",
    "definition_of",
    "embed_origin",
    "issue_render_token",
    "outcome_response",
    "own_origin",
    "published_form",
    "rate_limit_submissions",
    "read_submission",
    "request_origin",
    "run_pipeline",
    "submit_services",
)
