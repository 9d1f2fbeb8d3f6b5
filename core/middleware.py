"""Input hygiene at the edge: NUL characters, undecodable JSON and bodies that trickle in are refused early."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.enums import ScopeType
from litestar.exceptions import SerializationException

from core.client_ip import REQUEST_CLIENT, client_ip
from core.errors import BadRequest, Problem, RequestTimeout, UnsupportedMediaType

if TYPE_CHECKING:
    from collections.abc import Callable
    from ipaddress import IPv4Network, IPv6Network

    from litestar import Request
    from litestar.types import (
        ASGIApp,
        HTTPResponseBodyEvent,
        HTTPResponseStartEvent,
        Receive,
        ReceiveMessage,
        Scope,
        Send,
    )

__all__ = ("limit_body_read_time", "refuse_nul_in_url", "refuse_unreadable_body", "remember_client")

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


def remember_client(proxies: tuple[IPv4Network | IPv6Network, ...]) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware: the request's client address (behind ``LEADWIRE_TRUSTED_PROXIES``) in
    :data:`core.client_ip.REQUEST_CLIENT` while the request is served."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            client = scope.get("client")
            peer = client[0] if client else None
            forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"] if proxies else []
            token = REQUEST_CLIENT.set(client_ip(peer, forwarded, proxies))
            try:
                await app(scope, receive, send)
            finally:
                REQUEST_CLIENT.reset(token)

        return middleware

    return wrap


async def refuse_unreadable_body(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook of the admin API, whose bodies are all JSON.

    A body in another media type is a 415, as the schema documents; one with a NUL (raw, or escaped as
    ``\\u0000``) or that is not JSON is a 400.
    """
    if request.method in {"POST", "PUT", "PATCH"}:
        body = await request.body()
        if b"\x00" in body or b"\\u0000" in body:
            raise BadRequest(_NUL_DETAIL)
        media_type = request.content_type[0].lower()
        # No Content-Type at all is read as JSON: scripts often leave it out, and there is no other format to guess.
        if body and media_type and media_type != "application/json" and not media_type.endswith("+json"):
            raise UnsupportedMediaType(f"the admin API reads application/json bodies, not {media_type}")
        if body:
            # Decoded here, once: Litestar keeps the result for the handler's ``data``. msgspec raises errors that
            # Litestar does not turn into a 400 (not UTF-8, nested past the recursion limit); they are ours to catch.
            try:
                await request.json()
            except (SerializationException, UnicodeDecodeError, RecursionError) as exc:
                raise BadRequest("the body is not valid JSON, or is nested too deeply") from exc


def limit_body_read_time(seconds: float) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware: a request body must have arrived ``seconds`` after the application starts reading it.

    Past that, reading raises ``RequestTimeout`` (a 408 problem that closes the connection), so a client sending a
    byte now and then cannot hold a connection and a handler for as long as it likes. Once the body is complete,
    ``receive`` is passed through untouched (it then only reports a disconnect).
    """

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            deadline: float | None = None
            complete = False

            async def receive_in_time() -> ReceiveMessage:
                nonlocal deadline, complete
                if complete:
                    return await receive()
                if deadline is None:
                    deadline = asyncio.get_running_loop().time() + seconds
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
                except TimeoutError:
                    raise RequestTimeout(f"the request body did not arrive within {seconds:g} s") from None
                complete = message["type"] != "http.request" or not message.get("more_body", False)
                return message

            await app(scope, receive_in_time, send)

        return middleware

    return wrap
