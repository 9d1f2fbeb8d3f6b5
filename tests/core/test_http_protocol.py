"""The uvicorn protocols ``leadwire serve`` runs, h11 and httptools alike, bound how long a request may take to arrive.

Each test runs a real uvicorn server on 127.0.0.1 in this process, with a one-second header deadline, in front of a
tiny ASGI application, and talks to it over raw sockets.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import time
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from core.http_protocol import H11WithDeadlines, HttpToolsWithDeadlines, http_protocol
from core.settings import Settings
from tests.ingest.conftest import free_port
from tests.slow_clients import Slowpoke, in_pieces, run_all

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

DEADLINE_S = 1.0
BOUND_S = DEADLINE_S + 3
"""A slow connection must be gone within this; the margin absorbs a loaded machine."""
SLOW_APP_S = 2.5 * DEADLINE_S
SETTINGS = Settings(header_timeout_seconds=DEADLINE_S, body_timeout_seconds=DEADLINE_S, secret_key="x" * 40)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/read`` reads the body before answering, ``/slow`` takes a while; anything else answers at once."""
    if scope["path"] == "/read":
        while (await receive()).get("more_body"):
            pass
    elif scope["path"] == "/slow":
        await asyncio.sleep(SLOW_APP_S)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(params=[H11WithDeadlines, HttpToolsWithDeadlines], ids=["h11", "httptools"])
async def port(request: pytest.FixtureRequest) -> AsyncIterator[int]:
    config = uvicorn.Config(
        _app,
        host="127.0.0.1",
        port=free_port(),
        http=http_protocol(SETTINGS, request.param),
        ws="none",
        lifespan="off",
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    started = time.monotonic()
    while not server.started:
        assert not serving.done(), "uvicorn stopped while starting"
        assert time.monotonic() - started < 10, "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield config.port
    finally:
        server.should_exit = True
        await serving


GET = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def test_headers_that_trickle_in_get_a_408_and_the_connection_closed(port: int) -> None:
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 100 + b"\r\n\r\n"
    for slowpoke in await run_all([Slowpoke(port, slowly=request, give_up=10) for _ in range(3)], "headers"):
        assert slowpoke.held_s < BOUND_S, f"held {slowpoke.held_s:.1f} s with a {DEADLINE_S} s header deadline"
        assert slowpoke.status == 408, slowpoke.answer
        assert b"content-type: application/problem+json" in slowpoke.head
        assert json.loads(slowpoke.answer.partition(b"\r\n\r\n")[2])["status"] == 408


async def test_an_idle_connection_is_closed_without_an_answer(port: int) -> None:
    (slowpoke,) = await run_all([Slowpoke(port, give_up=10)], "idle")
    assert slowpoke.held_s < BOUND_S
    assert slowpoke.answer == b""


async def test_the_next_request_on_a_kept_alive_connection_has_the_same_deadline(port: int) -> None:
    (slowpoke,) = await run_all([Slowpoke(port, at_once=GET, slowly=GET, give_up=10)], "second request")
    assert slowpoke.status == 200
    assert slowpoke.answer.count(b"HTTP/1.1 ") == 2, slowpoke.answer
    assert slowpoke.answer.rpartition(b"HTTP/1.1 ")[2].startswith(b"408")
    assert slowpoke.held_s < BOUND_S


async def test_the_unread_rest_of_an_answered_body_cannot_hold_the_connection(port: int) -> None:
    head = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n"
    (slowpoke,) = await run_all([Slowpoke(port, at_once=head, slowly=b"x" * 1000, give_up=10)], "unread body")
    assert slowpoke.status == 200  # answered at once, without reading the body
    assert slowpoke.held_s < BOUND_S


async def test_the_connection_after_an_unread_body_arrives_is_closed_when_idle(port: int) -> None:
    # The body bytes cancelled uvicorn's keep-alive timer; the connection must not then stay idle for ever.
    post = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\n"
    (slowpoke,) = await run_all([Slowpoke(port, at_once=post, slowly=b"xyz", give_up=10)], "idle after body")
    assert slowpoke.status == 200
    assert slowpoke.held_s < BOUND_S + 3 * 0.3


async def test_headers_sent_in_pieces_within_the_deadline_are_served(port: int) -> None:
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    head = await in_pieces(port, [request[:7], request[7:25], request[25:]], pause=DEADLINE_S / 5)
    assert head.startswith(b"HTTP/1.1 200"), head


async def test_a_slow_application_is_not_cut_off_by_the_header_deadline(port: int) -> None:
    started = time.monotonic()
    head = await in_pieces(port, [b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"], pause=0)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert time.monotonic() - started >= SLOW_APP_S


async def test_a_body_the_application_reads_is_left_to_the_application(port: int) -> None:
    # The protocol bounds no body while the application is reading it: that deadline is limit_body_read_time's.
    head = b"POST /read HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
    answer = await in_pieces(port, [head, b"x", b"y", b"z"], pause=DEADLINE_S * 0.6)
    assert answer.startswith(b"HTTP/1.1 200"), answer


def test_the_protocol_survives_being_pickled_into_worker_processes() -> None:
    # ``leadwire serve --workers N`` pickles uvicorn's configuration, protocol included, into each worker.
    bound = pickle.loads(pickle.dumps(http_protocol(SETTINGS)))  # noqa: S301 (our own bytes)
    assert bound.func is HttpToolsWithDeadlines
    assert bound.keywords == {"header_seconds": DEADLINE_S, "body_seconds": DEADLINE_S}
