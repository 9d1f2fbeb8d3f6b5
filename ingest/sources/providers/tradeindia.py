"""TradeIndia: inquiries pulled from its "My Inquiry" API (TradeIndia has no push).

TradeIndia publishes no reference for this API that the search found; this follows what integrations in public
code send and read: ``GET {base}?userid=&profile_id=&key=&from_date=YYYY-MM-DD&to_date=YYYY-MM-DD&limit=&page_no=``
(dates in IST) answering a JSON array of inquiries (``rfi_id``, ``sender_name``, ``sender_mobile``,
``sender_email``, ``sender_co``, ``sender_city``, ``sender_state``, ``subject``, ``product_name``, ``message``,
``generated_date``, ``generated_time``, ...), a page at a time, and an object with a message when it refuses.
Windows are whole days, so the records of a day already taken come again: those received before the window are
left out, and the rest are the same leads (their ``rfi_id`` is the idempotency key).
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

_LABEL = "TradeIndia"
PAGE_SIZE = 50
MAX_PAGES = 200
MAPPING = {
    "sender_name": "name",
    "sender_email": "email",
    "sender_mobile": "phone",
    "sender_co": "company",
    "sender_city": "city",
    "sender_state": "state",
    "sender_country": "country",
    "product_name": "product",
    "subject": "subject",
    "message": "message",
}


def _page(status: int, body: bytes) -> Page:
    try:
        answer = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise PullError(f"{_LABEL} answered something that is not JSON (HTTP {status})") from None
    if isinstance(answer, dict):  # a refusal, or "no records" said in words
        message = str(answer.get("message") or answer.get("error") or answer.get("Error_Message") or "")
        if "no record" in message.lower() or "no inquir" in message.lower():
            return []
        raise PullError(f"{_LABEL} refused the request (HTTP {status}): {message[:200] or 'no reason given'}")
    if not isinstance(answer, list):
        raise PullError(f"{_LABEL} answered JSON that is not a list of inquiries (HTTP {status})")
    refusal = next(
        (item["Error_Message"] for item in answer if isinstance(item, dict) and "Error_Message" in item), None
    )
    if refusal is not None:
        raise PullError(f"{_LABEL} refused the request: {str(refusal)[:200]}")
    if status != 200:  # noqa: PLR2004
        raise PullError(f"{_LABEL} answered HTTP {status}")
    return [item for item in answer if isinstance(item, dict)]


async def fetch(call: PullCall) -> AsyncIterator[Page]:
    """The window's inquiries, page after page until an empty (or a repeated) one."""
    query = {
        **{name: call.credentials[name] for name in ("userid", "profile_id", "key")},
        "from_date": f"{ist_time(call.window.start):%Y-%m-%d}",
        "to_date": f"{ist_time(call.window.end):%Y-%m-%d}",
        "limit": str(PAGE_SIZE),
    }
    previous: list[str] | None = None
    for page_no in range(1, MAX_PAGES + 1):
        status, body, _ = await read(call.client, _LABEL, "GET", call.base_url, params={**query, "page_no": page_no})
        if status >= 500:  # noqa: PLR2004
            raise PullError(f"{_LABEL} answered HTTP {status}")
        page = _page(status, body)
        ids = [str(item.get("rfi_id")) for item in page]
        # The end is an empty page: a page may hold fewer than asked for (the server has its own most).
        if not page or ids == previous:
            return
        previous = ids
        yield page
    raise PullError(f"{_LABEL} answered more than {MAX_PAGES} pages for one window")


def received_at(inquiry: dict[str, Any]) -> datetime | None:
    day = str(inquiry.get("generated_date") or "").strip()
    moment = str(inquiry.get("generated_time") or "").strip()
    return parse_ist(f"{day} {moment}", "%Y-%m-%d %H:%M:%S") if day and moment else None


PULL = PullApi(
    label=_LABEL,
    credentials=("userid", "profile_id", "key"),
    base_url=lambda settings: settings.tradeindia_base_url,
    fetch=fetch,
    received_at=received_at,
    max_span=timedelta(days=2),
    windows_per_poll=7,
)

PROVIDERS = (
    Provider(
        kind="tradeindia",
        label="TradeIndia",
        setup="Give the user id, profile id and key of TradeIndia's inquiry API as `pull.userid`, "
        "`pull.profile_id` and `pull.key`; Leadwire polls every 10 minutes.",
        rules=Rules(mapping=MAPPING, phone_region="IN", id_field="rfi_id"),
        auth=Auth("url"),
        methods=frozenset(),
        pulls=True,
        pull=PULL,
    ),
)
