"""Exception handlers that turn every error into ``application/problem+json``; no traceback ever leaves."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import MediaType, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError

from core.error_pages import for_browsers
from core.errors import FieldError, LeadwireError, Problem, ServiceUnavailable

if TYPE_CHECKING:
    from litestar import Litestar, Request
    from litestar.types import ExceptionHandlersMap

__all__ = ("PROBLEM_JSON", "document_problems", "exception_handlers", "problem_response")

PROBLEM_JSON = "application/problem+json"
_logger = logging.getLogger("leadwire.errors")


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response[bytes]:
    """A response carrying ``problem`` as ``application/problem+json``."""
    return Response(
        content=msgspec.json.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _on_leadwire_error(request: Request[Any, Any, Any], exc: LeadwireError) -> Response[bytes]:
    return problem_response(exc.to_problem(instance=request.url.path), headers=exc.headers)


def _field_path(key: str) -> str:
    path = key.removeprefix("$").removeprefix(".")
    return "body" if path in {"", "data"} else path


def _on_validation_exception(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = _field_path(str(item.get("key", "")))
            # A query, path or header value is named as the client wrote it (``limit``), not by Litestar's enum.
            field = key
            errors.append(FieldError(field=field, code="invalid", message=str(item.get("message", "invalid value"))))
    problem = Problem(
        type="/problems/validation",
        title="Validation failed",
        status=422,
        detail="; ".join(f"{e.field}: {e.message}" for e in errors[:5]) or "the request does not match the schema",
        instance=request.url.path,
        errors=errors,
    )
    return problem_response(problem)


_TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}
"""RFC 9110's reason phrases where Python's ``HTTPStatus`` (before 3.13) still has RFC 7231's."""


def _on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        _logger.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, exc.detail)
    title = _TITLES.get(status) or (HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error")
    detail = exc.detail if status < HTTPStatus.INTERNAL_SERVER_ERROR else None
    problem_type = "about:blank"
    if isinstance(exc.__cause__, SerializationException):  # Litestar could not decode the body
        problem_type, title = "/problems/malformed-body", "Malformed request body"
    problem = Problem(
        type=problem_type,
        title=title,
        status=status,
        detail=detail if detail != title else None,
        instance=request.url.path,
    )
    return problem_response(problem, headers=dict(exc.headers or {}))


def _on_database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """The database cannot be reached, or stayed locked: the client may retry, so 503 with Retry-After, not 500."""
    db = request.app.state.get("db")
    if db is None or not db.outage.failed(exc):  # an outage is logged once, with back-off; a lock timeout each time
        _logger.error("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    problem = ServiceUnavailable("the database is unavailable; try again shortly").to_problem(request.url.path)
    return problem_response(problem, headers={"Retry-After": "5"})


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    _logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    problem = Problem(
        type="about:blank",
        title="Internal server error",
        status=500,
        detail="Something went wrong on our side; it has been logged.",
        instance=request.url.path,
    )
    return problem_response(problem)


def exception_handlers() -> ExceptionHandlersMap:
    """The handlers to install on the application, most specific first; a browser gets each answer as a page."""
    handlers: ExceptionHandlersMap = {
        LeadwireError: _on_leadwire_error,
        ValidationException: _on_validation_exception,
        HTTPException: _on_http_exception,
        OperationalError: _on_database_unavailable,
        SATimeoutError: _on_database_unavailable,
        ConnectionError: _on_database_unavailable,  # asyncpg's refused or reset connections arrive unwrapped
        Exception: _on_unexpected,
    }
    return {kind: for_browsers(handler) for kind, handler in handlers.items()}


_PROBLEMS = {
    400: "The body could not be read (for example, JSON that does not parse)",
    401: "No API key, a malformed one, or a revoked one (on /hooks/: the sender's key or signature is wrong)",
    403: "The source is disabled",
    404: "Not found, or not visible to this workspace",
    408: "The request did not arrive in time (headers, or the body within LEADWIRE_BODY_TIMEOUT_SECONDS)",
    409: "Conflicts with the current state (or the same Idempotency-Key is still being processed)",
    412: "If-Match names an older version of the resource",
    413: "The body is larger than allowed",
    415: "The body's Content-Type is not accepted here",
    422: "Invalid values; ``errors`` lists each field, code and message",
    429: "Too many requests; retry after ``Retry-After`` seconds",
    503: "The database is unavailable or busy; retry after ``Retry-After`` seconds",
}
_ANY_ROUTE = (400, 404, 408, 413, 415, 422, 503)
_BY_PREFIX = {"/api/": (401, 409, 412), "/f/": (409, 429), "/hooks/": (401, 403, 429)}
_PAGES = {
    403: "The button was pressed on another site",
    404: "The link is not valid (a page saying so)",
    409: "Already done (a page saying so)",
    410: "The link has expired (a page saying so)",
}
"""What the prospect's own pages (receipt, withdrawal, confirmation) answer with a page rather than a problem."""


def document_problems(app: Litestar) -> None:
    """Document the ``application/problem+json`` answers of every route in the OpenAPI schema.

    Litestar documents a handler's success response and 400 for validation; our errors (401, 404, 409, 422, 429,
    503, ...) come from exception handlers it cannot see. The schema is generated on its first request, so setting
    each handler's ``responses`` here, after the routes are built, is enough. A handler's own ``responses`` win.
    """
    for route in app.routes:
        path = route.path
        statuses = [*_ANY_ROUTE, *(s for prefix, extra in _BY_PREFIX.items() if path.startswith(prefix) for s in extra)]
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or path in {"/healthz", "/metrics"}:
                continue
            page = handler.media_type == MediaType.HTML
            documented = {
                status: ResponseSpec(
                    data_container=Problem,
                    media_type=PROBLEM_JSON,
                    description=_PROBLEMS[status],
                    generate_examples=False,
                )
                for status in statuses
                if not (page and status in _PAGES)
            }
            if page:
                documented |= {
                    status: ResponseSpec(data_container=str, media_type=MediaType.HTML, description=description)
                    for status, description in _PAGES.items()
                }
            handler.responses = dict(sorted({**documented, **(handler.responses or {})}.items()))
