"""``GET /problems/{slug}``: a short page for each problem ``type`` URI, so the identifier explains itself.

RFC 9457 §3.1.1 asks that a problem type URI, when dereferenced, give human-readable documentation of the type.
Every ``type`` this service sends is relative (``/problems/validation``), so it resolves against the service itself.
"""

from __future__ import annotations

import html
from typing import NamedTuple

from litestar import MediaType, Response, get
from litestar.params import FromPath

from core.errors import NotFound

__all__ = ("PROBLEM_PAGES", "ProblemPage", "problem_page")


class ProblemPage(NamedTuple):
    """What one problem type means and what a client should do about it."""

    status: int
    title: str
    text: str


PROBLEM_PAGES: dict[str, ProblemPage] = {
    "bad-request": ProblemPage(
        400, "Bad request", "The request could not be read: a header or parameter is malformed."
    ),
    "malformed-body": ProblemPage(
        400, "Malformed request body", "The body does not parse in the format its Content-Type names. Fix and resend."
    ),
    "unauthorized": ProblemPage(
        401,
        "Unauthorized",
        "No API key, a malformed one, a revoked one, or one whose creator has left. Send Authorization: Bearer lw_…",
    ),
    "forbidden": ProblemPage(
        403,
        "Forbidden",
        "Your role in the workspace, or your API key's scopes, do not allow this (an owner or admin can change roles "
        "and make keys with other scopes); or the thing is switched off for anyone, such as a source its owner "
        "disabled.",
    ),
    "sign-in": ProblemPage(401, "Sign in", "The console session has ended or never began: sign in again."),
    "csrf": ProblemPage(
        403, "Forbidden", "The console form was sent without its anti-forgery token, or from another site. Reload."
    ),
    "not-found": ProblemPage(404, "Not found", "No such thing, or not one that this workspace can see."),
    "request-timeout": ProblemPage(
        408, "Request timeout", "The request did not arrive in time. The connection is closed; send it again."
    ),
    "conflict": ProblemPage(
        409,
        "Conflict",
        "The request clashes with the current state, or the same Idempotency-Key is still being processed. "
        "Read the resource again, or retry the same request a little later.",
    ),
    "precondition-failed": ProblemPage(
        412, "Precondition failed", "If-Match names an older version: someone else changed it first. Read it again."
    ),
    "payload-too-large": ProblemPage(
        413, "Content Too Large", "The body is larger than allowed, or carries too many values. Send less."
    ),
    "unsupported-media-type": ProblemPage(
        415, "Unsupported media type", "The body's Content-Type is not one this endpoint reads (the schema lists them)."
    ),
    "validation": ProblemPage(
        422,
        "Validation failed",
        "The request was read but some values are not acceptable. The errors member lists each failing field "
        "with a stable code and a message; fix them all and resend.",
    ),
    "rate-limited": ProblemPage(
        429, "Too many requests", "Slow down: retry after the number of seconds in Retry-After (also retry_after)."
    ),
    "unavailable": ProblemPage(
        503, "Service unavailable", "The database is unreachable or busy. Retry after the seconds in Retry-After."
    ),
}
"""Every problem type this service sends, by the last segment of its ``type`` URI."""

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
    "Cache-Control": "public, max-age=86400",
    "X-Content-Type-Options": "nosniff",
}


def _render(slug: str, page: ProblemPage) -> str:
    title = html.escape(page.title)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title} · Leadwire</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}"
        "code{background:#f3f3f3;padding:0 .2em}</style></head><body>"
        f"<h1>{title}</h1><p>HTTP status {page.status}.</p><p>{html.escape(page.text)}</p>"
        f"<p>Problem type <code>/problems/{html.escape(slug)}</code>: the body of such an answer is "
        "<code>application/problem+json</code> (RFC 9457).</p></body></html>"
    )


@get("/problems/{slug:str}", media_type=MediaType.HTML, include_in_schema=False, sync_to_thread=False)
def problem_page(slug: FromPath[str]) -> Response[str]:
    """The page that a problem's ``type`` URI names."""
    page = PROBLEM_PAGES.get(slug)
    if page is None:
        raise NotFound("no such problem type")
    return Response(_render(slug, page), media_type=MediaType.HTML, headers=_HEADERS)
