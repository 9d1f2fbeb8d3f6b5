"""Fake lead providers on 127.0.0.1 that behave as the providers document, error modes included.

Each fake is an aiohttp app with knobs for the tests: its records, a clock it can be moved along, a slow answer, a
malformed answer, a page that waits until released. They keep what they were asked (``calls``) and how many
requests they were answering at once (``overlaps``), so that tests can check how Leadwire pulls.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ("IST", "ist_now", "running")

IST = timezone(timedelta(hours=5, minutes=30), "IST")
"""India Standard Time: the three providers give and take their times in it."""


def ist_now(minutes_ago: float = 0.0) -> datetime:
    """Now (or ``minutes_ago``) in IST, to the second."""
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).astimezone(IST).replace(microsecond=0)


@contextlib.asynccontextmanager
async def running(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1; yields ``http://127.0.0.1:PORT``."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
