"""A fake of IndiaMART's CRM API v2 (the Lead Manager's pull API), as IndiaMART's integration guide describes it.

``GET {base}?glusr_crm_key=KEY&start_time=DD-Mon-YYYY HH:MM:SS&end_time=...`` with both times in IST. The answer is
always HTTP 200; the outcome is in the body's ``CODE``, ``STATUS`` and ``MESSAGE``, with ``TOTAL_RECORDS`` and the
leads in ``RESPONSE`` (an array of the lead objects IndiaMART also pushes one at a time):

- 200: the leads of the window;
- 204: no leads in the window (not an error);
- 400: a time that is not in the documented format, or a window of more than 7 days;
- 401: a key that is wrong or expired;
- 429: a call less than 5 minutes after the previous one; the key is then refused for 15 minutes.

The wording of the messages follows what public integrations compare against; only the codes are relied on.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes import IST, ist_now, running

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ("PATH", "FakeIndiaMart", "indiamart_lead")

PATH = "/wservce/crm/crmListing/v2/"
MIN_GAP = timedelta(minutes=5)
BLOCK = timedelta(minutes=15)
MAX_WINDOW = timedelta(days=7)
_TIME = "%d-%b-%Y %H:%M:%S"


def indiamart_lead(query_id: str, minutes_ago: float, **fields: str) -> dict[str, Any]:
    """One lead as IndiaMART sends it (the documented fields, every one a string, blanks as ``""``)."""
    lead = {
        "UNIQUE_QUERY_ID": query_id,
        "QUERY_TYPE": "W",
        "QUERY_TIME": ist_now(minutes_ago).strftime("%Y-%m-%d %H:%M:%S"),
        "SENDER_NAME": "Arun Kumar",
        "SENDER_MOBILE": "+91-9876543210",
        "SENDER_EMAIL": "arun@example.com",
        "SUBJECT": "Requirement for Dye Sublimation Ink",
        "SENDER_COMPANY": "Arun Industries",
        "SENDER_ADDRESS": "Arun Industries, Meerut, Uttar Pradesh, 250001",
        "SENDER_CITY": "Meerut",
        "SENDER_STATE": "Uttar Pradesh",
        "SENDER_PINCODE": "250001",
        "SENDER_COUNTRY_ISO": "IN",
        "SENDER_MOBILE_ALT": "",
        "SENDER_PHONE": "",
        "SENDER_PHONE_ALT": "",
        "SENDER_EMAIL_ALT": "",
        "QUERY_PRODUCT_NAME": "Dye Sublimation Ink",
        "QUERY_MESSAGE": "I want to buy Dye Sublimation Ink.<br> Quantity :   20<br> Quantity Unit :   litre<br>",
        "QUERY_MCAT_NAME": "Sublimation Ink",
        "CALL_DURATION": "",
        "RECEIVER_MOBILE": "",
    }
    lead.update(fields)
    return lead


def _answer(code: int, message: str = "", leads: list[dict[str, Any]] | None = None) -> web.Response:
    body = {
        "CODE": code,
        "STATUS": "SUCCESS" if code == 200 else "FAILURE",
        "MESSAGE": message,
        "TOTAL_RECORDS": len(leads or []),
        "RESPONSE": leads or [],
    }
    return web.json_response(body)


class FakeIndiaMart:
    """IndiaMART's CRM API v2 for one seller, whose key is ``crm_key``."""

    def __init__(self, crm_key: str, leads: list[dict[str, Any]] | None = None) -> None:
        self.crm_key = crm_key
        self.leads = list(leads or [])
        self.calls: list[dict[str, str]] = []
        """The query of every request (the key included: tests check it is sent, and never shown)."""
        self.answered: list[list[str]] = []
        """The ids of the leads each successful call returned."""
        self.last_call: datetime | None = None
        self.blocked_until: datetime | None = None
        self.delay = 0.0
        self.malformed = False
        self.in_flight = 0
        self.overlaps = 0

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass for IndiaMART's rate limit (the previous call and any block move into the past)."""
        step = timedelta(seconds=seconds)
        if self.last_call is not None:
            self.last_call -= step
        if self.blocked_until is not None:
            self.blocked_until -= step

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.overlaps += self.in_flight > 1
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return self._answer(dict(request.query))
        finally:
            self.in_flight -= 1

    def _refused(self, query: dict[str, str]) -> web.Response | None:
        """The answer to a call IndiaMART refuses: a wrong key, a blocked one, or one called too soon."""
        if query.get("glusr_crm_key") != self.crm_key:
            return _answer(401, "Invalid key. Please generate a new key from the Lead Manager.")
        now = datetime.now(UTC)
        too_soon = "It is advised to hit this API once in every 5 minutes. Please try after 15 minutes."
        if self.blocked_until is not None and now < self.blocked_until:
            return _answer(429, too_soon)
        if self.last_call is not None and now - self.last_call < MIN_GAP:
            self.blocked_until = now + BLOCK
            self.last_call = now
            return _answer(429, too_soon)
        self.last_call = now
        return None

    def _answer(self, query: dict[str, str]) -> web.Response:
        self.calls.append(query)
        refused = self._refused(query)
        if refused is not None:
            return refused
        if self.malformed:
            return web.Response(
                text="<html><body>Service Temporarily Unavailable</body></html>", content_type="text/html"
            )
        try:
            start = datetime.strptime(query["start_time"], _TIME).replace(tzinfo=IST)
            end = datetime.strptime(query["end_time"], _TIME).replace(tzinfo=IST)
        except (KeyError, ValueError):
            return _answer(400, "Please enter start_time and end_time in DD-Mon-YYYY HH:MM:SS format.")
        if end < start or end - start > MAX_WINDOW:
            return _answer(400, "The time duration between start_time and end_time cannot be more than 7 days.")
        leads = [
            lead
            for lead in self.leads
            if start <= datetime.strptime(lead["QUERY_TIME"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST) <= end
        ]
        if not leads:
            return _answer(204, "There are no leads in the given time duration. Please try for a different duration.")
        self.answered.append([lead["UNIQUE_QUERY_ID"] for lead in leads])
        return _answer(200, "", leads)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Serve the fake; yields the base URL (``LEADWIRE_INDIAMART_BASE_URL``)."""
        app = web.Application()
        app.router.add_get(PATH, self.handle)
        async with running(app) as url:
            yield url + PATH
