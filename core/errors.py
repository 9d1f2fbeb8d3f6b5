"""One error hierarchy, rendered once as RFC 9457 ``application/problem+json``."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

__all__ = (
    "BadRequest",
    "Conflict",
    "FieldError",
    "Forbidden",
    "LeadwireError",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "Problem",
    "RateLimited",
    "RequestTimeout",
    "ServiceUnavailable",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
)


class FieldError(msgspec.Struct, frozen=True):
    """One thing wrong with one input field."""

    field: str
    """Where the problem is: a field name or a path such as ``fields[2].name``."""
    code: str
    """A stable, machine-readable reason such as ``required``, ``invalid_type`` or ``duplicate``."""
    message: str
    """A sentence for people."""


class Problem(msgspec.Struct, omit_defaults=True):
    """The body of every error response (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    retry_after: int | None = None


class LeadwireError(Exception):
    """Base of every error a client can cause; each subclass fixes status, title and problem type."""

    status_code: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    slug: ClassVar[str] = "bad-request"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.headers = headers or {}

    def to_problem(self, instance: str | None = None) -> Problem:
        """The problem document for this error."""
        return Problem(
            type=f"/problems/{self.slug}",
            title=self.title,
            status=self.status_code,
            detail=self.detail,
            instance=instance,
            **self._extra(),
        )

    def _extra(self) -> dict[str, Any]:
        return {}


class BadRequest(LeadwireError):
    """The request cannot be read: malformed body, wrong content type."""


class Unauthorized(LeadwireError):
    """No valid credentials."""

    status_code = 401
    title = "Unauthorized"
    slug = "unauthorized"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="leadwire"'})


class Forbidden(LeadwireError):
    """The caller is known, but their role (or their API key's scopes) does not allow this in their workspace; or
    the thing is switched off for whoever asks (a disabled source)."""

    status_code = 403
    title = "Forbidden"
    slug = "forbidden"


class NotFound(LeadwireError):
    """No such thing in the caller's workspace (another workspace's things are also 'not found')."""

    status_code = 404
    title = "Not found"
    slug = "not-found"


class RequestTimeout(LeadwireError):
    """The client took too long to send its request; the connection is closed after the answer."""

    status_code = 408
    title = "Request timeout"
    slug = "request-timeout"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Connection": "close"})


class Conflict(LeadwireError):
    """The request clashes with the current state."""

    status_code = 409
    title = "Conflict"
    slug = "conflict"


class PreconditionFailed(LeadwireError):
    """An ``If-Match`` precondition did not hold: someone else changed the resource first."""

    status_code = 412
    title = "Precondition failed"
    slug = "precondition-failed"


class PayloadTooLarge(LeadwireError):
    """The body is over the size cap."""

    status_code = 413
    title = "Content Too Large"  # RFC 9110 §15.5.14
    slug = "payload-too-large"


class UnsupportedMediaType(LeadwireError):
    """The body is in a format this endpoint does not read."""

    status_code = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"


class ValidationFailed(LeadwireError):
    """The input was read but is not acceptable; ``errors`` names every failing field at once."""

    status_code = 422
    title = "Validation failed"
    slug = "validation"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors[:5]))
        self.errors = errors

    def _extra(self) -> dict[str, Any]:
        return {"errors": self.errors}


class RateLimited(LeadwireError):
    """Too many requests; try again after ``retry_after`` seconds."""

    status_code = 429
    title = "Too many requests"
    slug = "rate-limited"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after

    def _extra(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class ServiceUnavailable(LeadwireError):
    """A dependency (the database) cannot be reached."""

    status_code = 503
    title = "Service unavailable"
    slug = "unavailable"
