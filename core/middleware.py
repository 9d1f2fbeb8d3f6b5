"""Input hygiene at the edge: NUL characters are refused before they reach a handler or the database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar.enums import ScopeType

from core.errors import BadRequest, Problem

if TYPE_CHECKING:
    from litestar import Request
    from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send

__all__ = ("refuse_nul_in_body", "refuse_nul_in_url")

_NUL_DETAIL = "NUL characters are not accepted"


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


async def refuse_nul_in_body(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook: a body carrying a NUL (raw, or escaped as ``\\u0000`` in JSON) is a 400 problem."""
    if request.method in {"POST", "PUT", "PATCH"}:
        body = await request.body()
        if b"\x00" in body or b"\\u0000" in body:
            raise BadRequest(_NUL_DETAIL)
