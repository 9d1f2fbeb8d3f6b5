"""The ingest slice's service: taking a submission in over HTTP (the rate-limit guard, reading the request,
answering with an outcome) for ``embeds`` and ``ingest.sources``.

The ``POST /f/{slug}`` route itself lives with the pages in ``embeds`` (which re-renders a form with its errors
for browsers). The pipeline's own steps are imported from the modules named for them (``ingest.pipeline``,
``ingest.spam``, ``ingest.parse``) rather than re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Response

from core.client_ip import client_ip, rate_limit_subject
from ingest.parse import parse_submission
from ingest.pipeline import RequestFacts

if TYPE_CHECKING:
    from litestar import Request
    from litestar.connection import ASGIConnection
    from litestar.handlers import BaseRouteHandler

    from core.ratelimit import SubmitLimiter
    from forms.models import Form
    from ingest.parse import RawSubmission
    from ingest.pipeline import Outcome, SubmitServices

__all__ = ("client_address", "outcome_response", "rate_limit_submissions", "read_submission", "submit_services")

_CLIENT_IP = "leadwire_client_ip"
_FORM = "leadwire_form"


def submit_services(connection: ASGIConnection[Any, Any, Any, Any]) -> SubmitServices:
    """The process's submit services (created in the app's lifespan)."""
    services: SubmitServices = connection.app.state.submit_services
    return services


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address: the peer's, or the one a trusted proxy names in ``X-Forwarded-For``."""
    services = submit_services(connection)
    peer = connection.client.host if connection.client else None
    return client_ip(peer, connection.headers.getall("x-forwarded-for", []), services.trusted_proxies)


async def rate_limit_submissions(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: count the submission against the client's and the form's limits before the body is read.

    The client's own limit comes first; only then is the form looked up (``404`` for an unknown slug), and the
    per-client-and-form and per-form limits are counted for forms that exist.
    """
    services = submit_services(connection)
    limiter: SubmitLimiter = connection.app.state.submit_limiter
    address = client_address(connection)
    connection.state[_CLIENT_IP] = address
    subject = rate_limit_subject(address)
    await limiter.check_client(subject)
    form = await services.forms.get(str(connection.path_params.get("slug", "")))
    connection.state[_FORM] = form
    await limiter.check_form(client=subject, form=form.id)


async def read_submission(request: Request[Any, Any, Any], slug: str) -> tuple[Form, RawSubmission, RequestFacts]:
    """The form (as the guard found it), the body read in any of the three formats, and the request's facts.

    Raises:
        NotFound: No published form behind ``slug``.
        BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed: The body cannot be read.
    """
    services = submit_services(request)
    form: Form = request.state.get(_FORM) or await services.forms.get(slug)
    raw = await parse_submission(request, services.settings)
    accept = request.headers.get("accept", "").lower()
    facts = RequestFacts(
        client_ip=request.state.get(_CLIENT_IP) or client_address(request),
        user_agent=request.headers.get("user-agent"),
        origin=request.headers.get("origin"),
        referer=request.headers.get("referer"),
        idempotency_key=request.headers.get("idempotency-key"),
        wants_json=raw.is_json or "application/json" in accept,
    )
    return form, raw, facts


def outcome_response(outcome: Outcome) -> Response[bytes]:
    """The HTTP answer: 201 with JSON, or 303 to the thank-you page or redirect; replays say so."""
    headers = {"Cache-Control": "no-store"}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    if outcome.location is not None:
        headers["Location"] = outcome.location
        return Response(b"", status_code=outcome.status_code, headers=headers, media_type="text/plain")
    return Response(outcome.body, status_code=outcome.status_code, headers=headers, media_type="application/json")
