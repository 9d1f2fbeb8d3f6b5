"""Errors as small HTML pages for people in a browser; programs (and everything under ``/api/``) keep problem+json.

A prospect who follows an old link to ``/f/{slug}``, or a marketer who mistypes a console address, should read a
sentence, not a JSON document. Whether a client is a browser is read from its ``Accept`` header: browsers put
``text/html`` first, programs ask for JSON or for anything.
"""

from __future__ import annotations

import functools
from html import escape
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import MediaType, Response

from core.errors import Problem

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar import Request

__all__ = ("FAVICON_LINK", "for_browsers")

FAVICON_LINK = '<link rel="icon" href="/favicon.svg" type="image/svg+xml">'
_PROBLEM_JSON = "application/problem+json"
_PROGRAM_PATHS = ("/api/", "/hooks/", "/schema")
_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
{icon}
<style>
body {{ font: 1rem/1.5 system-ui, sans-serif; color: #1f2328; max-width: 36rem; margin: 4rem auto; padding: 0 1rem; }}
h1 {{ font-size: 1.5rem; }}
p.code {{ color: #59636e; font-size: .875rem; }}
a {{ color: #0b57d0; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p>{message}</p>
{link}
<p class="code">Error {status}</p>
</main>
</body>
</html>
"""


def _wants_a_page(request: Request[Any, Any, Any]) -> bool:
    if request.url.path.startswith(_PROGRAM_PATHS):
        return False
    return request.accept.best_match(["application/json", _PROBLEM_JSON, MediaType.HTML]) == MediaType.HTML


def _words(path: str, problem: Problem) -> tuple[str, str, str]:
    """The page's title, sentence and link, for where the person was going."""
    if path.startswith("/f/") and problem.status == 404:  # noqa: PLR2004
        return (
            "This form is not available",
            (
                "The link may be mistyped, or the form has been taken down. If you followed a link from a website, "
                "let its owner know."
            ),
            "",
        )
    if problem.status == 404:  # noqa: PLR2004
        link = '<p><a href="/console">Go to the console</a></p>' if path.startswith("/console") else ""
        return "Page not found", "There is no page at this address.", link
    return problem.title, problem.detail or "", ""


def _page(request: Request[Any, Any, Any], response: Response[Any]) -> Response[Any]:
    try:
        problem = msgspec.json.decode(response.content, type=Problem)
    except (msgspec.DecodeError, TypeError):
        return response
    title, message, link = _words(request.url.path, problem)
    body = _PAGE.format(
        title=escape(title), message=escape(message), link=link, status=problem.status, icon=FAVICON_LINK
    )
    return Response(
        content=body.encode(),
        status_code=response.status_code,
        media_type=MediaType.HTML,
        headers={k: v for k, v in response.headers.items() if k.lower() != "content-type"},
    )


def for_browsers(
    handler: Callable[[Request[Any, Any, Any], Any], Response[Any]],
) -> Callable[[Request[Any, Any, Any], Any], Response[Any]]:
    """``handler`` (an exception handler answering problem+json), answering a browser with a page instead."""

    @functools.wraps(handler)
    def answer(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
        response = handler(request, exc)
        if response.media_type == _PROBLEM_JSON and _wants_a_page(request):
            return _page(request, response)
        return response

    return answer
