"""Input hygiene at the edge: NUL characters and undecodable JSON are refused before they reach a handler."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar.enums import ScopeType
from litestar.exceptions import SerializationException

from core.errors import BadRequest, Problem

if TYPE_CHECKING:
    from litestar import Request
    from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send

__all__ = ("refuse_nul_in_url", "refuse_unreadable_body")

_NUL_DETAIL = "NUL characters are not accepted"
_FORM_TYPES = ("multipart/", "application/x-www-form-urlencoded")


def refuse_nul_in_url(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: a NUL in the path or query string is a 400 problem (PostgreSQL cannot store one)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            query = scope.get("query_string", b"")
            if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
                problem = Problem(type="/problems/bad-request", title="Bad request", status=400, detail=_NUL_DETAIL)
                body = msgspec.json.encode(problem)
                start: HTTPResponseStartEvent = {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
                end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
                await send(start)
                await send(end)
                return
        await app(scope, receive, send)

    return middleware


async def refuse_unreadable_body(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: a body with a NUL (raw, or escaped as ``\\u0000``) or that is not JSON is a 400."""
    if request.method in {"POST", "PUT", "PATCH"}:
        body = await request.body()
        if b"\x00" in body or b"\\u0000" in body:
            raise BadRequest(_NUL_DETAIL)
        if body and not request.content_type[0].startswith(_FORM_TYPES):
            # Decoded here, once: Litestar keeps the result for the handler's ``data``. msgspec raises errors that
            # Litestar does not turn into a 400 (not UTF-8, nested past the recursion limit); they are ours to catch.
            try:
                await request.json()
            except (SerializationException, UnicodeDecodeError, RecursionError) as exc:
                raise BadRequest("the body is not valid JSON, or is nested too deeply") from exc
