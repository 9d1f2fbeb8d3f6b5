"""A push's leads through the pipeline, one at a time, and the answer its sender expects.

Every push kind (generic, presets, Standard Webhooks, Google Ads) ends here: each lead is mapped with the source's
rules and taken by ``run_pipeline`` under the source's own key space; once every lead is stored, or recognised as one
stored before, the sender gets 200.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import MediaType, Response

from core.errors import FieldError, LeadwireError, ValidationFailed
from ingest.pipeline import run_pipeline
from ingest.service import client_address
from ingest.sources import activity, service
from ingest.sources.schemas import PushAnswer, PushedLead
from leads import service as leads

if TYPE_CHECKING:
    from litestar import Request

    from forms.models import Form
    from ingest.pipeline import Outcome, SubmitServices
    from ingest.sources.kinds import InboundLead
    from ingest.sources.models import Source
    from ingest.sources.payloads import Received
    from ingest.sources.providers import Provider

__all__ = ("LeadOutcome", "push_answer", "take_leads")

_MULTI_STATUS = 207


@dataclass(frozen=True, slots=True)
class LeadOutcome:
    """What became of one lead of a push: its submission, or the error that refused it."""

    lead: InboundLead
    """The lead as its sender sent it (a key it carried already removed)."""
    submission_id: str | None = None
    duplicate: bool = False
    replayed: bool = False
    """The sender sent this lead before: answered from what was stored then."""
    error: LeadwireError | None = None
    taken: Outcome | None = None
    """The pipeline's outcome, when the lead was stored or recognised."""


def _received_lead(received: Received, lead: InboundLead, *, many: bool) -> Received:
    """What is noted of one lead: the request as received, or for a batch the lead's own document (each lead of a
    batch is one payload of the source's activity, with what it became)."""
    if not many:
        return received
    return replace(received, content_type="application/json", body=msgspec.json.encode(lead.values), mapped=None)


async def take_leads(
    services: SubmitServices,
    source: Source,
    form: Form,
    leads: list[InboundLead],
    *,
    received: Received,
    many: bool,
    request: Request[Any, Any, Any],
) -> list[LeadOutcome]:
    """Each lead mapped and taken through the pipeline, in order; a refused lead does not stop the others."""
    notes = activity.of(request)
    client_ip, user_agent = client_address(request), request.headers.get("user-agent")
    outcomes: list[LeadOutcome] = []
    for lead in leads:
        seen = _received_lead(received, lead, many=many)
        outcome = await _take(services, source, form, lead, seen, client_ip=client_ip, user_agent=user_agent)
        # The one place where each lead's outcome is known: stored, a duplicate, a sender's retry, or refused.
        if outcome.taken is not None:
            notes.lead(source, seen, outcome.taken)
        elif outcome.error is not None:
            notes.refused(source, seen, outcome.error)
        outcomes.append(outcome)
    return outcomes


async def _take(
    services: SubmitServices,
    source: Source,
    form: Form,
    lead: InboundLead,
    received: Received,
    *,
    client_ip: str,
    user_agent: str | None,
) -> LeadOutcome:
    mapped = received.mapped = service.map_lead(source, form, lead)
    raw, facts = service.inbound_submission(source, lead, mapped, client_ip=client_ip, user_agent=user_agent)
    try:
        outcome = await run_pipeline(services, form, raw, facts)
    except LeadwireError as exc:
        return LeadOutcome(lead, error=exc)
    duplicate = outcome.verdict == "duplicate"
    if outcome.replayed:
        # A retry is answered as the first time was, and the first answer said whether the lead was a duplicate.
        async with services.db.session(write=False) as session:
            duplicate = await leads.verdict_of(session, submission_id=outcome.submission_id) == "duplicate"
    return LeadOutcome(lead, outcome.submission_id, duplicate=duplicate, replayed=outcome.replayed, taken=outcome)


def _retry_helps(error: LeadwireError) -> bool:
    """A busy key (409), a rate limit (429) or an unavailable database (5xx): the same request may pass later."""
    return error.status_code in {409, 429} or error.status_code >= 500  # noqa: PLR2004


def _refused_together(outcomes: list[LeadOutcome]) -> LeadwireError:
    """One problem for a batch whose every lead was refused: each lead's errors named by its place, ``[1].email``."""
    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    if not all(isinstance(error, ValidationFailed) for error in errors):
        return next(error for error in errors if not isinstance(error, ValidationFailed))
    return ValidationFailed(
        [
            FieldError(f"[{index}].{e.field}", e.code, e.message)
            for index, outcome in enumerate(outcomes)
            if isinstance(outcome.error, ValidationFailed)
            for e in outcome.error.errors
        ]
    )


def _pushed(outcome: LeadOutcome) -> PushedLead:
    error = outcome.error
    if error is None:
        return PushedLead(submission_id=outcome.submission_id, duplicate=outcome.duplicate)
    if isinstance(error, ValidationFailed):
        return PushedLead(errors=list(error.errors))
    return PushedLead(errors=[FieldError("lead", error.slug, error.detail or error.title)])


def push_answer(kind: Provider, outcomes: list[LeadOutcome], *, many: bool) -> Response[Any]:
    """The answer to a push: 200 once every lead is stored or recognised, naming each lead's submission (or, for a
    kind whose sender expects a word, such as JustDial's ``RECEIVED``, that word as plain text).

    A lead refused by the form is 422 with the reasons, as at the submit endpoint. When a batch (a JSON array) is
    partly refused, the stored leads stay stored and the answer is **207 Multi-Status**, its body saying which lead
    was refused and why: a 2xx, because resending cannot fix a lead the form refuses. Senders that retry every
    non-2xx would otherwise resend the batch until they give up, and portals that switch a failing listener off
    would stop sending the good leads too. When any lead failed for a reason that may pass later (409, 429, 5xx),
    that is the answer instead, so that the sender retries: the leads already stored are recognised then, and
    answered as the first time.

    Raises:
        LeadwireError: The request's one lead, or every lead of a batch, was refused; or a retry may help.
    """
    failed = [outcome.error for outcome in outcomes if outcome.error is not None]
    retry = next((error for error in failed if _retry_helps(error)), None)
    if retry is not None:
        raise retry
    if failed and not many:
        raise failed[0]
    if failed and len(failed) == len(outcomes):
        raise _refused_together(outcomes)
    headers = {"Cache-Control": "no-store"}
    if outcomes and all(outcome.replayed for outcome in outcomes):
        headers["Idempotent-Replayed"] = "true"
    if kind.success_text is not None and not failed:
        return Response(kind.success_text, media_type=MediaType.TEXT, headers=headers)
    return Response(
        PushAnswer(received=len(outcomes), leads=[_pushed(outcome) for outcome in outcomes]),
        status_code=_MULTI_STATUS if failed else 200,
        headers=headers,
    )
