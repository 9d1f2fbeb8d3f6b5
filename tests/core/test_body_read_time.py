"""``limit_body_read_time``: a body must arrive within its deadline; what comes after the body is not bounded."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

import pytest

from core.errors import RequestTimeout
from core.middleware import limit_body_read_time

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

DEADLINE_S = 0.3
SCOPE = cast("Scope", {"type": "http", "method": "POST", "path": "/", "headers": []})


def _client(*messages: ReceiveMessage, then_wait: float) -> Receive:
    """``receive`` that hands out ``messages`` at once, then waits ``then_wait`` seconds and reports a disconnect."""
    pending = list(messages)

    async def receive() -> ReceiveMessage:
        if pending:
            return pending.pop(0)
        await asyncio.sleep(then_wait)
        return {"type": "http.disconnect"}

    return receive


def _reading_twice(seen: list[Any]) -> ASGIApp:
    """An application that calls ``receive`` twice and keeps what it got."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(await receive())
        seen.append(await receive())

    return cast("ASGIApp", app)


async def _no_send(_message: Any) -> None:
    raise AssertionError("the middleware never answers by itself")


async def test_a_body_that_stops_arriving_raises_request_timeout_in_time() -> None:
    seen: list[Any] = []
    app = limit_body_read_time(DEADLINE_S)(_reading_twice(seen))
    receive = _client({"type": "http.request", "body": b"{", "more_body": True}, then_wait=3600)
    started = asyncio.get_running_loop().time()
    with pytest.raises(RequestTimeout) as raised:
        await asyncio.wait_for(app(SCOPE, receive, _no_send), 10)
    assert DEADLINE_S <= asyncio.get_running_loop().time() - started < DEADLINE_S + 2
    assert raised.value.headers == {"Connection": "close"}
    assert raised.value.to_problem().status == 408
    assert len(seen) == 1  # the first chunk arrived in time


async def test_after_the_whole_body_receive_is_not_bounded() -> None:
    # Litestar listens for a disconnect while it streams an answer: that wait may be as long as it likes.
    seen: list[Any] = []
    app = limit_body_read_time(DEADLINE_S)(_reading_twice(seen))
    receive = _client({"type": "http.request", "body": b"{}", "more_body": False}, then_wait=DEADLINE_S * 3)
    await asyncio.wait_for(app(SCOPE, receive, _no_send), 10)
    assert [message["type"] for message in seen] == ["http.request", "http.disconnect"]
