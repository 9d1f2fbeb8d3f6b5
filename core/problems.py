"""Exception handlers that turn every error into ``application/problem+json``; no traceback ever leaves."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError

from core.errors import FieldError, LeadwireError, Problem, ServiceUnavailable

if TYPE_CHECKING:
    from litestar import Request
    from litestar.types import ExceptionHandlersMap

__all__ = ("PROBLEM_JSON", "exception_handlers", "problem_response")

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
            source = item.get("source")
            key = _field_path(str(item.get("key", "")))
            field = key if source in {None, "body"} else f"{source}.{key}"
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


def _on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        _logger.error("HTTP %s on %s %s: %s", status, request.method, request.url.path, exc.detail)
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
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
    """The handlers to install on the application, most specific first."""
    return {
        LeadwireError: _on_leadwire_error,
        ValidationException: _on_validation_exception,
        HTTPException: _on_http_exception,
        OperationalError: _on_database_unavailable,
        SATimeoutError: _on_database_unavailable,
        ConnectionError: _on_database_unavailable,  # asyncpg's refused or reset connections arrive unwrapped
        Exception: _on_unexpected,
    }
