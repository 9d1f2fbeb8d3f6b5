"""Fixtures for delivery tests: the app with a fast in-process worker allowed to deliver to 127.0.0.1."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from litestar.testing import AsyncTestClient

from app import create_app
from tests.conftest import make_settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.conftest import Client


FAST_WORKER = {
    "allow_private_webhook_targets": "true",
    "delivery_retry_schedule": "0.2,0.2,0.2",
    "delivery_poll_seconds": "0.05",
}


@pytest.fixture
async def live(database_url: str) -> AsyncIterator[Client]:
    """The app with its in-process worker, allowed to deliver to 127.0.0.1, retrying after 0.2 s."""
    settings = make_settings(database_url, **FAST_WORKER)
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        yield client
