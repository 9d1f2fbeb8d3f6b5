"""A fake of TradeIndia's "My Inquiry" API, as public integrations use it (TradeIndia publishes no reference).

``GET {base}?userid=&profile_id=&key=&from_date=YYYY-MM-DD&to_date=YYYY-MM-DD&limit=N&page_no=P`` answers a JSON
array of the seller's inquiries whose ``generated_date`` (IST) falls within the two dates, ``limit`` at a time
(never more than the server's own page size), page ``page_no`` counted from 1; past the last page, ``[]``.
Wrong credentials and malformed dates are answered with an error object, as integrations handle them.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes import ist_now, running

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ("PATH", "FakeTradeIndia", "tradeindia_inquiry")

PATH = "/utils/my_inquiry.html"


def tradeindia_inquiry(rfi_id: str, minutes_ago: float, **fields: str) -> dict[str, Any]:
    """One inquiry with the fields public integrations read (``rfi_id`` is its id)."""
    when = ist_now(minutes_ago)
    inquiry = {
        "rfi_id": rfi_id,
        "sender_uid": "53214788",
        "sender_name": "Meena Iyer",
        "sender_mobile": "9812345678",
        "sender_other_mobiles": "",
        "sender_email": "meena@example.com",
        "sender_co": "Iyer Traders",
        "sender_city": "Chennai",
        "sender_state": "Tamil Nadu",
        "sender_country": "India",
        "subject": "Inquiry for Stainless Steel Pipes",
        "product_name": "Stainless Steel Pipes",
        "message": "Please quote for 200 m of 2 inch SS 304 pipe, delivery to Chennai.",
        "inquiry_type": "Product Inquiry",
        "source": "TradeIndia",
        "view_status": "New",
        "generated_date": when.strftime("%Y-%m-%d"),
        "generated_time": when.strftime("%H:%M:%S"),
    }
    inquiry.update(fields)
    return inquiry


class FakeTradeIndia:
    """TradeIndia's inquiry API for one seller (``userid``, ``profile_id``, ``key``)."""

    def __init__(self, userid: str, profile_id: str, key: str, inquiries: list[dict[str, Any]] | None = None) -> None:
        self.credentials = {"userid": userid, "profile_id": profile_id, "key": key}
        self.inquiries = list(inquiries or [])
        self.page_size = 50
        """The most a page holds, whatever ``limit`` asks."""
        self.calls: list[dict[str, str]] = []
        self.answered: list[list[str]] = []
        self.delay = 0.0
        self.malformed = False
        self.hold_page: int | None = None
        """The first request for this page waits until ``release`` is set (``held`` is set meanwhile)."""
        self.held = asyncio.Event()
        self.arrived = asyncio.Event()
        """Set by every request."""
        self.release = asyncio.Event()
        self.in_flight = 0
        self.overlaps = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.overlaps += self.in_flight > 1
        try:
            query = dict(request.query)
            self.calls.append(query)
            self.arrived.set()
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.hold_page is not None and query.get("page_no") == str(self.hold_page) and not self.held.is_set():
                self.held.set()
                await self.release.wait()
            return self._answer(query)
        finally:
            self.in_flight -= 1

    def _answer(self, query: dict[str, str]) -> web.Response:
        if any(query.get(name) != value for name, value in self.credentials.items()):
            return web.json_response({"status": "error", "message": "Invalid userid, profile_id or key"})
        if self.malformed:
            return web.Response(text="<html><body>502 Bad Gateway</body></html>", status=502, content_type="text/html")
        try:
            first = date.fromisoformat(query["from_date"])
            last = date.fromisoformat(query["to_date"])
            limit = int(query.get("limit", "20"))
            page = int(query.get("page_no", "1"))
        except (KeyError, ValueError):
            return web.json_response({"status": "error", "message": "from_date and to_date must be YYYY-MM-DD"})
        size = max(1, min(limit, self.page_size))
        matching = [i for i in self.inquiries if first <= date.fromisoformat(i["generated_date"]) <= last]
        matching.sort(key=lambda i: (i["generated_date"], i["generated_time"]), reverse=True)
        answer = matching[(page - 1) * size : page * size]
        self.answered.append([i["rfi_id"] for i in answer])
        return web.json_response(answer)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Serve the fake; yields the base URL (``LEADWIRE_TRADEINDIA_BASE_URL``)."""
        app = web.Application()
        app.router.add_get(PATH, self.handle)
        async with running(app) as url:
            yield url + PATH
