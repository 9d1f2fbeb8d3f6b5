"""A fake of 99acres' lead (response) XML API, as the integrations in public code use it.

``POST {base}`` with a form field ``xml`` holding ``<query><user_name/><pswd/><start_date/><end_date/></query>``
(times ``YYYY-MM-DD HH:MM:SS``, IST). The answer is ``<Xml ActionStatus="true">`` with one ``<Resp>`` per query
received in the window: ``<QryDtl ResType QueryId>`` (what was asked about, when: ``RcvdOn``) and ``<CntctDtl>``
(``Name``, ``Email``, ``Phone``), text in CDATA. A refused login or request is ``<Xml ActionStatus="false">`` with
an ``<ErrorDetail>`` (``Code``, ``Message``).
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web

from tests.fakes import IST, ist_now, running

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ("PATH", "Fake99acres", "acres99_query")

PATH = "/99api/v1/getmy99Response/OeAuXClO43hwseaXEQ/uid/"
_TIME = "%Y-%m-%d %H:%M:%S"


def acres99_query(query_id: str, minutes_ago: float, **fields: str) -> dict[str, str]:
    """One response (a buyer's query about a listing) with the elements 99acres sends."""
    query = {
        "QueryId": query_id,
        "ResType": "Query",
        "CmpctLabl": "3 BHK Apartment for Sale in Runwal Gardens, Dombivli",
        "QryInfo": "This project looks good! Please send me more details.",
        "RcvdOn": ist_now(minutes_ago).strftime(_TIME),
        "ProjId": "342109",
        "ProjName": "Runwal Gardens",
        "CityName": "Thane",
        "PhoneVerificationStatus": "VERIFIED",
        "EmailVerificationStatus": "UNVALIDATED",
        "IDENTITY": "Individual",
        "PROPERTY_CODE": "35833",
        "SubUserName": "",
        "Name": "Priya Nair",
        "Email": "priya@example.com",
        "Phone": "+91-8082798814",
    }
    query.update(fields)
    return query


def _resp(query: dict[str, str]) -> str:
    details = "".join(
        f"<{name}><![CDATA[{value}]]></{name}>"
        for name, value in query.items()
        if name not in {"QueryId", "ResType", "Name", "Email", "Phone"}
    )
    contact = "".join(f"<{name}><![CDATA[{query[name]}]]></{name}>" for name in ("Name", "Email", "Phone"))
    return (
        f"<Resp><QryDtl ResType={quoteattr(query['ResType'])} QueryId={quoteattr(query['QueryId'])}>{details}"
        f"</QryDtl><CntctDtl>{contact}</CntctDtl></Resp>"
    )


def _refused(code: str, message: str) -> web.Response:
    body = (
        '<?xml version="1.0"?><Xml ActionStatus="false"><ErrorDetail>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></ErrorDetail></Xml>"
    )
    return web.Response(text=body, content_type="text/xml")


class Fake99acres:
    """99acres' response API for one advertiser login."""

    def __init__(self, username: str, password: str, queries: list[dict[str, str]] | None = None) -> None:
        self.username = username
        self.password = password
        self.queries = list(queries or [])
        self.calls: list[dict[str, str]] = []
        self.answered: list[list[str]] = []
        self.malformed = False
        self.in_flight = 0
        self.overlaps = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.overlaps += self.in_flight > 1
        try:
            form = await request.post()
            return self._answer(str(form.get("xml", "")))
        finally:
            self.in_flight -= 1

    def _answer(self, text: str) -> web.Response:
        try:
            # The poller under test sends this: the fake trusts it (the client's own parser refuses entities).
            query: dict[str, Any] = {child.tag: (child.text or "") for child in ET.fromstring(text)}  # noqa: S314
        except ET.ParseError:
            return _refused("ERROR-0003", "The request is not well-formed XML")
        self.calls.append(query)
        if query.get("user_name") != self.username or query.get("pswd") != self.password:
            return _refused("ERROR-0001", "Authentication does not succeed. Incorrect Username/Password")
        if self.malformed:
            return web.Response(text='<Xml ActionStatus="true"><Resp><QryDtl', content_type="text/xml")
        try:
            start = datetime.strptime(query["start_date"], _TIME).replace(tzinfo=IST)
            end = datetime.strptime(query["end_date"], _TIME).replace(tzinfo=IST)
        except (KeyError, ValueError):
            return _refused("ERROR-0002", "start_date and end_date must be YYYY-MM-DD HH:MM:SS")
        found = [q for q in self.queries if start <= datetime.strptime(q["RcvdOn"], _TIME).replace(tzinfo=IST) <= end]
        self.answered.append([q["QueryId"] for q in found])
        body = '<?xml version="1.0"?><Xml ActionStatus="true">' + "".join(_resp(q) for q in found) + "</Xml>"
        return web.Response(text=body, content_type="text/xml")

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Serve the fake; yields the base URL (``LEADWIRE_99ACRES_BASE_URL``)."""
        app = web.Application()
        app.router.add_post(PATH, self.handle)
        async with running(app) as url:
            yield url + PATH
