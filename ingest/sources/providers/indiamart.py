"""IndiaMART: leads pushed by its Lead Manager's push webhook, and pulled from its CRM API v2.

Both carry the same lead object (``UNIQUE_QUERY_ID``, ``QUERY_TIME``, ``SENDER_NAME``, ``SENDER_MOBILE`` such as
``+91-9876543210``, ``SENDER_EMAIL``, ``SENDER_COMPANY``, ``SENDER_CITY``, ``SENDER_STATE``, ``QUERY_PRODUCT_NAME``,
``QUERY_MESSAGE``, ...): one under ``RESPONSE`` in a push (``{"CODE", "STATUS", "RESPONSE": {...}}``), a list of
them under ``RESPONSE`` in a pull. Per IndiaMART's integration guide for the CRM API v2 ("Lead Manager CRM API"):
``GET {base}?glusr_crm_key=KEY&start_time=&end_time=`` with times ``DD-Mon-YYYY HH:MM:SS`` in IST, a window of at
most 7 days, at least 5 minutes between calls (else ``CODE`` 429, and the key is refused for 15 minutes), and the
outcome always in the 200 body's ``CODE``/``STATUS``/``MESSAGE`` (204: no leads in the window).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from ingest.sources.mapping import Rules
from ingest.sources.providers.base import Auth, Provider
from ingest.sources.providers.pulling import PullApi, PullCall, PullError, ist_time, parse_ist, read

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from datetime import datetime

    from ingest.sources.providers.pulling import Page

__all__ = ("PROVIDERS",)

_LABEL = "IndiaMART"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_BLOCK = timedelta(minutes=15)

MAPPING = {
    "SENDER_NAME": "name",
    "SENDER_EMAIL": "email",
    "SENDER_MOBILE": "phone",
    "SENDER_COMPANY": "company",
    "SENDER_CITY": "city",
    "SENDER_STATE": "state",
    "SENDER_PINCODE": "pincode",
    "SENDER_ADDRESS": "address",
    "SENDER_COUNTRY_ISO": "country",
    "QUERY_PRODUCT_NAME": "product",
    "QUERY_MESSAGE": "message",
}
"""IndiaMART's fields to the form fields of the same meaning (a form without one of them just does not get it)."""


def split(document: Any) -> list[Any]:
    """The leads of a push (one object under ``RESPONSE``) or of a pull's answer (a list under it)."""
    if isinstance(document, dict):
        response = document.get("RESPONSE")
        if isinstance(response, dict):
            return [response]
        if isinstance(response, list):
            return [lead for lead in response if isinstance(lead, dict)]
    return [document]


def _time(value: datetime) -> str:
    """``DD-Mon-YYYY HH:MM:SS`` in IST, with English month names whatever the process's locale."""
    local = ist_time(value)
    return f"{local.day:02d}-{_MONTHS[local.month - 1]}-{local.year} {local:%H:%M:%S}"


async def fetch(call: PullCall) -> AsyncIterator[Page]:
    """The window's leads, in the one page the CRM API answers."""
    query = {
        "glusr_crm_key": call.credentials["crm_key"],
        "start_time": _time(call.window.start),
        "end_time": _time(call.window.end),
    }
    status, body, _ = await read(call.client, _LABEL, "GET", call.base_url, params=query)
    try:
        answer = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise PullError(f"{_LABEL} answered something that is not JSON (HTTP {status})") from None
    if not isinstance(answer, dict):
        raise PullError(f"{_LABEL} answered JSON without a CODE (HTTP {status})")
    code = str(answer.get("CODE", status))
    message = str(answer.get("MESSAGE") or "")[:200]
    if code == "200":
        yield split(answer)
    elif code == "204":  # no leads in the window: the window is taken
        return
    elif code == "429":
        raise PullError(
            f"{_LABEL} refused a call made too soon (CODE 429); the key is blocked for 15 minutes", blocked_for=_BLOCK
        )
    elif code == "401":
        raise PullError(f"{_LABEL} refused the CRM key (CODE 401): generate a new key in the Lead Manager")
    else:
        raise PullError(f"{_LABEL} answered CODE {code[:10]}: {message}")


def received_at(lead: dict[str, Any]) -> datetime | None:
    return parse_ist(lead.get("QUERY_TIME"), "%Y-%m-%d %H:%M:%S")


PULL = PullApi(
    label=_LABEL,
    credentials=("crm_key",),
    base_url=lambda settings: settings.indiamart_base_url,
    fetch=fetch,
    received_at=received_at,
    max_span=timedelta(days=7),
    min_interval=timedelta(minutes=5),
    default_interval=timedelta(minutes=10),
    windows_per_poll=1,  # every call, even one walking forward, must wait 5 minutes
)

PROVIDERS = (
    Provider(
        kind="indiamart",
        label="IndiaMART",
        setup="Push: in the Lead Manager's push API settings, paste the source's URL. Pull: give the CRM key "
        "(Lead Manager, CRM API) as `pull.crm_key`; Leadwire then polls every 10 minutes.",
        rules=Rules(mapping=MAPPING, phone_region="IN", id_field="UNIQUE_QUERY_ID"),
        auth=Auth("url"),
        methods=frozenset({"POST"}),
        split=split,
        pulls=True,
        pull=PULL,
    ),
)
