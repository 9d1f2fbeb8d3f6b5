"""99acres: responses (buyers' queries about listings) pulled from its lead XML API.

99acres documents this API to its advertisers only; this follows what integrations in public code send and read.
``POST {base}`` with a form field ``xml``: ``<query><user_name/><pswd/><start_date/><end_date/></query>`` (times
``YYYY-MM-DD HH:MM:SS``, IST). The answer is ``<Xml ActionStatus="true">`` holding a ``<Resp>`` per query:
``<QryDtl ResType QueryId>`` (``CmpctLabl``, ``QryInfo``, ``RcvdOn``, ``ProjName``, ``CityName``, ...) and
``<CntctDtl>`` (``Name``, ``Email``, ``Phone``), or ``ActionStatus="false"`` with an ``<ErrorDetail>`` (``Code``,
``Message``). Each ``<Resp>`` becomes one flat record: the query's attributes and elements, and the contact's.
No window limit or call interval is published; windows of up to two days and a poll every 10 minutes are what
integrations use.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from ingest.sources.mapping import Rules
from ingest.sources.providers.base import Auth, Provider
from ingest.sources.providers.pulling import PullApi, PullCall, PullError, ist_time, parse_ist, read

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    from ingest.sources.providers.pulling import Page

__all__ = ("PROVIDERS",)

_LABEL = "99acres"
MAPPING = {
    "Name": "name",
    "Email": "email",
    "Phone": "phone",
    "QryInfo": "message",
    "CityName": "city",
    "ProjName": "project",
    "CmpctLabl": "property",
}


def _query(credentials: dict[str, str], start: datetime, end: datetime) -> str:
    def field(name: str, value: str) -> str:
        return f"<{name}>{escape(value)}</{name}>"

    return (
        "<?xml version='1.0'?><query>"
        + field("user_name", credentials["username"])
        + field("pswd", credentials["password"])
        + field("start_date", f"{ist_time(start):%Y-%m-%d %H:%M:%S}")
        + field("end_date", f"{ist_time(end):%Y-%m-%d %H:%M:%S}")
        + "</query>"
    )


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _record(resp: ET.Element) -> dict[str, Any]:
    record: dict[str, Any] = {}
    details = resp.find("QryDtl")
    if details is not None:
        record.update(details.attrib)
        record.update({child.tag: _text(child) for child in details})
    contact = resp.find("CntctDtl")
    if contact is not None:
        record.update({child.tag: _text(child) for child in contact})
    return record


def parse(status: int, body: bytes) -> Page:
    """The records of one answer.

    Raises:
        PullError: A refusal, or not the XML 99acres answers.
    """
    head = body[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:  # no entities: a few bytes of them expand to gigabytes
        raise PullError(f"{_LABEL} answered XML with a DOCTYPE (HTTP {status})")
    try:
        root = ET.fromstring(body)  # noqa: S314 - no DOCTYPE, hence no entities (checked above)
    except ET.ParseError:
        raise PullError(f"{_LABEL} answered something that is not XML (HTTP {status})") from None
    if root.tag != "Xml":
        raise PullError(f"{_LABEL} answered XML that is not its lead list (HTTP {status})")
    if root.get("ActionStatus", "").lower() != "true":
        detail = root.find("ErrorDetail")
        code = _text(detail.find("Code")) if detail is not None else ""
        message = _text(detail.find("Message")) if detail is not None else _text(root.find("ErrorMsg"))
        raise PullError(f"{_LABEL} refused the request ({code or 'no code'}): {message[:200] or 'no reason given'}")
    return [record for resp in root.iter("Resp") if (record := _record(resp))]


async def fetch(call: PullCall) -> AsyncIterator[Page]:
    """The window's responses, in the one answer the API gives."""
    form = {"xml": _query(call.credentials, call.window.start, call.window.end)}
    status, body, _ = await read(call.client, _LABEL, "POST", call.base_url, data=form)
    if status != 200:  # noqa: PLR2004
        raise PullError(f"{_LABEL} answered HTTP {status}")
    yield parse(status, body)


def received_at(record: dict[str, Any]) -> datetime | None:
    return parse_ist(record.get("RcvdOn"), "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")


PULL = PullApi(
    label=_LABEL,
    credentials=("username", "password"),
    base_url=lambda settings: settings.acres99_base_url,
    fetch=fetch,
    received_at=received_at,
    max_span=timedelta(days=2),
    windows_per_poll=7,
)

PROVIDERS = (
    Provider(
        kind="99acres",
        label="99acres",
        setup="Give the 99acres advertiser login of its lead API as `pull.username` and `pull.password`; Leadwire "
        "polls every 10 minutes.",
        rules=Rules(mapping=MAPPING, phone_region="IN", id_field="QueryId"),
        auth=Auth("url"),
        methods=frozenset(),
        pulls=True,
        pull=PULL,
    ),
)
