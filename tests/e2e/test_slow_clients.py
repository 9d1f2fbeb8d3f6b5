"""Slow clients against a real ``leadwire serve``: headers and bodies that trickle in are cut off in bounded time.

The server runs with 2-second header and body deadlines. Each slow client sends one byte every 0.3 s and the tests
measure how long the server keeps its connection (without the deadlines: for as long as the client keeps trickling).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import TYPE_CHECKING

import httpx
import pytest

from bench.cluster import LEADWIRE, ROOT, Node, leadwire_env
from tests.conftest import TEST_SECRET_KEY
from tests.slow_clients import Slowpoke, in_pieces, run_all

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

DEADLINE_S = 2.0
"""``LEADWIRE_HEADER_TIMEOUT_SECONDS`` and ``LEADWIRE_BODY_TIMEOUT_SECONDS`` of the server under test."""
BOUND_S = DEADLINE_S + 4
"""A slow connection must be gone within this; the margin absorbs a loaded machine."""
SLOW_CLIENTS = 5
BODY = json.dumps({"name": "Ada Lovelace", "email": "ada@example.com", "consent": ["sales_contact"]}).encode()


def _post(path: str, *, length: int, content_type: str = "application/json") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, str]]:
    """One ``leadwire serve`` with 2-second read deadlines, and the slug of its published demo form."""
    tmp_path = tmp_path_factory.mktemp("slow-clients")
    env = leadwire_env(
        f"sqlite+aiosqlite:///{tmp_path}/leadwire.db",
        TEST_SECRET_KEY,
        header_timeout_seconds=str(DEADLINE_S),
        body_timeout_seconds=str(DEADLINE_S),
        rate_limit_ip_form="10000/minute",
        rate_limit_ip="10000/minute",
    )
    demo = subprocess.run(
        [*LEADWIRE, "demo", "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert demo.returncode == 0, demo.stderr
    slug = json.loads(demo.stdout.strip().splitlines()[-1])["form_slug"]
    node = Node("serve", "serve", env, tmp_path)
    node.spawn()
    try:
        node.wait_ready()
        yield node, slug
    finally:
        node.stop()


async def test_headers_that_trickle_in_are_answered_408_and_closed(server: tuple[Node, str]) -> None:
    node, slug = server
    request = f"POST /f/{slug} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: {'a' * 100}\r\n\r\n".encode()

    async def readiness_meanwhile() -> int:
        await asyncio.sleep(DEADLINE_S / 2)
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{node.url}/readyz")).status_code

    clients, status = await asyncio.gather(
        run_all([Slowpoke(node.port, slowly=request) for _ in range(SLOW_CLIENTS)], "headers"), readiness_meanwhile()
    )
    assert status == 200  # others are served while the slow clients trickle
    for slowpoke in clients:
        assert slowpoke.held_s < BOUND_S, f"held {slowpoke.held_s:.1f} s with a {DEADLINE_S} s header deadline"
        assert slowpoke.status == 408, slowpoke.answer[:300]
        assert b"connection: close" in slowpoke.head
        assert json.loads(slowpoke.answer.partition(b"\r\n\r\n")[2])["type"] == "/problems/request-timeout"
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{node.url}/readyz")).status_code == 200


async def test_a_connection_that_sends_nothing_is_closed_without_an_answer(server: tuple[Node, str]) -> None:
    node, _ = server
    for slowpoke in await run_all([Slowpoke(node.port) for _ in range(2)], "idle"):
        assert slowpoke.held_s < BOUND_S, f"idle connection held {slowpoke.held_s:.1f} s"
        assert slowpoke.answer == b""  # nothing was asked: a browser's spare connection gets no 408 to show


async def test_a_body_that_trickles_in_is_answered_408_problem_and_closed(server: tuple[Node, str]) -> None:
    node, slug = server
    padded = BODY + b" " * 100  # JSON allows trailing space: the body is valid, only slow
    head = _post(f"/f/{slug}", length=len(padded))
    clients = [Slowpoke(node.port, at_once=head, slowly=padded) for _ in range(SLOW_CLIENTS)]
    for slowpoke in await run_all(clients, "body"):
        assert slowpoke.held_s < BOUND_S, f"held {slowpoke.held_s:.1f} s with a {DEADLINE_S} s body deadline"
        assert slowpoke.status == 408, slowpoke.answer[:300]
        assert b"content-type: application/problem+json" in slowpoke.head
        assert b"connection: close" in slowpoke.head
        assert json.loads(slowpoke.answer.partition(b"\r\n\r\n")[2])["type"] == "/problems/request-timeout"


async def test_a_body_nobody_reads_cannot_keep_the_connection_after_the_answer(server: tuple[Node, str]) -> None:
    node, _ = server
    # No API key: the guard answers 401 before the body is read, and the client keeps trickling the body.
    head = _post("/api/v1/forms", length=400)
    clients = [Slowpoke(node.port, at_once=head, slowly=b"x" * 400) for _ in range(SLOW_CLIENTS)]
    for slowpoke in await run_all(clients, "unread body"):
        assert slowpoke.status == 401, slowpoke.answer[:300]
        assert slowpoke.held_s < BOUND_S, f"held {slowpoke.held_s:.1f} s after answering"


async def test_slow_but_reasonable_clients_are_served(server: tuple[Node, str]) -> None:
    node, slug = server
    pause = DEADLINE_S / 8  # three pauses: the whole request takes under 40 % of a deadline
    get = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    head = await in_pieces(node.port, [get[:10], get[10:30], get[30:]], pause)
    assert head.startswith(b"HTTP/1.1 200"), head
    post = _post(f"/f/{slug}", length=len(BODY)) + BODY
    body_start = post.index(b"\r\n\r\n") + 4
    pieces = [post[:20], post[20:body_start], post[body_start : body_start + 10], post[body_start + 10 :]]
    head = await in_pieces(node.port, pieces, pause)
    assert head.startswith(b"HTTP/1.1 201"), head
