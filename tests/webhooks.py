"""A scriptable webhook receiver on 127.0.0.1 (a pytest plugin: its fixtures are available to every test)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable


class Receiver:
    """A webhook receiver: answers from a script of (status, headers), then 200; keeps what it got and when.

    While ``outage`` is set, every request is answered with that status instead (the script waits).
    """

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], bytes | None]] = []
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.times: list[float] = []
        self.paths: list[str] = []
        self.url = ""
        self.arrived = asyncio.Event()
        self.in_flight: dict[str, int] = {}
        self.overlaps = 0
        self.delay = 0.0
        self.outage: int | None = None

    def answer(self, *statuses: int, headers: dict[str, str] | None = None, body: bytes | None = None) -> None:
        self.script += [(status, headers or {}, body) for status in statuses]

    async def handle(self, request: web.Request) -> web.Response:
        webhook_id = request.headers.get("webhook-id", "")
        self.in_flight[webhook_id] = self.in_flight.get(webhook_id, 0) + 1
        if self.in_flight[webhook_id] > 1:
            self.overlaps += 1
        try:
            body = await request.read()
            if self.delay:
                await asyncio.sleep(self.delay)
            # Header names are case-insensitive; receivers see them in whatever case the client chose.
            self.requests.append(({name.lower(): value for name, value in request.headers.items()}, body))
            self.times.append(time.monotonic())
            self.paths.append(request.path_qs)
            self.arrived.set()
            headers: dict[str, str]
            if self.outage is not None:
                status, headers, answer = self.outage, {}, None
            else:
                status, headers, answer = self.script.pop(0) if self.script else (200, {}, None)
            self.statuses.append(status)
            return web.Response(status=status, body=answer or f"answer {status}".encode(), headers=headers)
        finally:
            self.in_flight[webhook_id] -= 1

    async def wait_for(self, count: int, seconds: float = 20.0) -> None:
        async def enough() -> None:
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), seconds)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> None:
    """Poll ``check()`` until it is true: for states the receiver cannot see, such as rows in the database."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)
