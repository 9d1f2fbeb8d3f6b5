"""A database that goes away is logged once, then with back-off, and its return once: not per request or retry."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

from litestar.testing import AsyncTestClient

from app import create_app
from core.database_errors import OutageLog
from tests.conftest import make_settings

if TYPE_CHECKING:
    import pytest

_URL = "postgresql+asyncpg://lw@127.0.0.1:{port}/leadwire"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_is_logged_once_then_with_growing_gaps_then_its_end(caplog: pytest.LogCaptureFixture) -> None:
    clock = _Clock()
    outage = OutageLog(_URL.format(port=1), clock=clock)
    caplog.set_level(logging.INFO, logger="leadwire.database")
    refused = ConnectionRefusedError(111, "Connect call failed")
    for second in range(60):  # a minute of failures, ten a second
        clock.now = 1_000.0 + second
        for _ in range(10):
            assert outage.failed(refused)
    messages = [record.getMessage() for record in caplog.records]
    # at 0 s, then after 5, 10 and 20 s more: 0, 5, 15, 35
    assert len(messages) == 4, messages
    assert messages[0].startswith("the database is unavailable: cannot reach the database at 127.0.0.1:1")
    assert "still unavailable after 35 s (351 failures)" in messages[-1]
    assert all(record.exc_info is None for record in caplog.records)

    outage.recovered()
    outage.recovered()
    assert caplog.records[-1].getMessage() == "the database is available again after 59 s"
    assert len(caplog.records) == 5


def test_an_error_that_is_not_an_outage_is_left_to_the_caller() -> None:
    outage = OutageLog(_URL.format(port=1))
    assert not outage.failed(ValueError("a bug"))


async def test_a_server_whose_database_is_down_logs_it_once_not_per_request(caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(_URL.format(port=_closed_port()))
    caplog.set_level(logging.INFO)
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        statuses = {(await client.post("/f/anyform00000000", json={"email": "a@example.com"})).status_code}
        for _ in range(29):
            statuses.add((await client.post("/f/anyform00000000", json={"email": "a@example.com"})).status_code)
        await asyncio.sleep(2)  # the delivery worker and the Meta fetcher retry meanwhile

    assert statuses == {503}
    about_it = [r for r in caplog.records if r.name.startswith("leadwire") and "database" in r.getMessage()]
    assert len(about_it) <= 2, [r.getMessage() for r in about_it]
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]
