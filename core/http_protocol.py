"""The uvicorn HTTP protocol ``leadwire serve`` runs: uvicorn's own, with a deadline for reading each request."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any, Literal, cast

import h11
import msgspec
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # uvicorn[standard] brings httptools

from core.errors import RequestTimeout

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from core.settings import Settings

__all__ = ("H11WithDeadlines", "HttpToolsWithDeadlines", "RequestClock", "http_protocol")

_logger = logging.getLogger("leadwire.http")

_Phase = Literal["headers", "body", ""]


def _request_timeout_answer(header_seconds: float) -> bytes:
    problem = RequestTimeout(f"the request headers did not arrive within {header_seconds:g} s").to_problem()
    body = msgspec.json.encode(problem)
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class RequestClock:
    """The one deadline a connection can be under: the next request's headers, or the rest of an answered request.

    uvicorn bounds only the silence between requests (``timeout_keep_alive``, which any byte resets) and nothing else:
    a client sending a header byte now and then, or the body of a request that was answered without reading it,
    keeps its connection for as long as it likes. Bodies the application reads have their own deadline
    (``core.middleware.limit_body_read_time``), which answers 408.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        header_seconds: float,
        body_seconds: float,
        between_responses: Callable[[], bool],
    ) -> None:
        self._loop = loop
        self._header_seconds = header_seconds
        self._body_seconds = body_seconds
        self._between_responses = between_responses
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._phase: _Phase = ""
        """What the deadline is for: ``headers``, ``body`` (the unread rest of an answered request), or nothing."""
        self._request_started = False

    def connected(self, transport: asyncio.Transport) -> None:
        """A new connection owes its first request's headers."""
        self._transport = transport
        self.expect_headers(started=False)

    def expect_headers(self, *, started: bool) -> None:
        """Start the header deadline unless it already runs; ``started``: some bytes of the request have arrived."""
        if self._phase != "headers":
            self._arm("headers", self._header_seconds)
            self._request_started = False
        self._request_started = self._request_started or started

    def expect_rest_of_body(self) -> None:
        """The request was answered before its body had arrived: the rest of it has ``body_seconds`` to come."""
        self._arm("body", self._body_seconds)

    def request_received(self) -> None:
        """The whole request has arrived. After an early answer the connection now waits for the next request."""
        if self._phase == "body":
            # The bytes of that body cancelled uvicorn's keep-alive timer, so the idle connection is ours to bound.
            self.expect_headers(started=False)
        else:
            self.stop()

    def stop(self) -> None:
        """No deadline: the application has the request, or the connection is gone."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._phase = ""

    def _arm(self, phase: _Phase, seconds: float) -> None:
        self.stop()
        self._phase = phase
        self._timer = self._loop.call_later(seconds, self._expired)

    def _expired(self) -> None:
        phase, self._timer, self._phase = self._phase, None, ""
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        # A connection that has asked nothing is closed without an answer (a browser's spare connection would
        # otherwise show the 408 to its user), and one whose previous response is still going out cannot be
        # given another.
        if phase == "headers" and self._request_started and self._between_responses():
            transport.write(_request_timeout_answer(self._header_seconds))
        peer = transport.get_extra_info("peername")
        _logger.debug("closing the connection from %s: the request's %s did not arrive in time", peer, phase)
        transport.close()


class _WithDeadlines:
    """What both protocols add to uvicorn's: a ``RequestClock`` started with the connection, stopped with it."""

    loop: asyncio.AbstractEventLoop
    cycle: Any

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_seconds: float,
        body_seconds: float,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)  # type: ignore[call-arg]
        self.clock = RequestClock(
            self.loop, header_seconds=header_seconds, body_seconds=body_seconds, between_responses=self._answered
        )

    def _answered(self) -> bool:
        return self.cycle is None or bool(self.cycle.response_complete)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self.clock.connected(cast("asyncio.Transport", transport))  # uvicorn serves over stream transports

    def connection_lost(self, exc: Exception | None) -> None:
        self.clock.stop()
        super().connection_lost(exc)  # type: ignore[misc]


class H11WithDeadlines(_WithDeadlines, H11Protocol):
    """uvicorn's h11 protocol with a ``RequestClock``."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.IDLE:
            buffered, _ = self.conn.trailing_data  # the start of a request whose headers are not complete yet
            if buffered:
                self.clock.expect_headers(started=True)
            else:
                self.clock.request_received()
        elif not (state is h11.SEND_BODY and self.cycle.response_complete):
            self.clock.stop()  # the application has the request (or the connection is ending)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.SEND_BODY and self.cycle.response_complete and not self.transport.is_closing():
            self.clock.expect_rest_of_body()


class HttpToolsWithDeadlines(_WithDeadlines, HttpToolsProtocol):
    """uvicorn's httptools protocol (the one it picks when httptools is installed) with a ``RequestClock``."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.clock.expect_headers(started=True)

    def on_headers_complete(self) -> None:
        self.clock.stop()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.clock.request_received()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        cycle = self.cycle
        if cycle.response_complete and cycle.more_body and not self.transport.is_closing():
            self.clock.expect_rest_of_body()


def http_protocol(
    settings: Settings, protocol: type[H11WithDeadlines | HttpToolsWithDeadlines] | None = None
) -> type[asyncio.Protocol]:
    """What to pass as ``uvicorn.run(http=...)``: ``protocol`` (httptools by default, as uvicorn's ``auto``) bound to
    the settings' deadlines.

    A ``functools.partial`` rather than a class made on the fly: ``--workers`` pickles the uvicorn configuration into
    each worker process, and a partial of a module-level class pickles. uvicorn only ever calls it.
    """
    bound = functools.partial(
        protocol or HttpToolsWithDeadlines,
        header_seconds=settings.header_timeout_seconds,
        body_seconds=settings.body_timeout_seconds,
    )
    return cast("type[asyncio.Protocol]", bound)
