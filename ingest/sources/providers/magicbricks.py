"""MagicBricks: an enquiry pushed to the source's URL, its fields as query parameters of a GET (or posted by name).

From MagicBricks' real-time lead push as CRM integrations receive it: ``name``, ``mobile`` (national digits),
``isd`` (the country's dialling code), ``email``, ``msg`` (the enquiry's text), ``project``, ``City``, ``dt``,
``time`` and ``source``. It carries no lead id, so a repeat is recognised by its content (the same enquiry at the
same ``dt`` and ``time``). Integrations answer ``Success: Lead punched in the CRM``. MagicBricks signs nothing: the
source's unguessable URL is the credential.
"""

from __future__ import annotations

from typing import Any

from core.errors import BadRequest
from ingest.sources.mapping import Rules
from ingest.sources.providers.base import Auth, Provider
from ingest.sources.providers.dialling import with_country_code

__all__ = ("PROVIDERS",)


def enquiries(document: Any) -> list[Any]:
    """Each enquiry (one, or a JSON array of them) with ``phone``: the mobile with its ``isd`` code, so that a number
    abroad is read as one.

    Raises:
        BadRequest: Not an enquiry, or an array with something else in it.
    """
    found = document if isinstance(document, list) else [document]
    if not all(isinstance(enquiry, dict) for enquiry in found):
        raise BadRequest("expected MagicBricks' enquiry: name, mobile, email, msg, ...")
    return [_with_phone(enquiry) for enquiry in found]


def _with_phone(document: dict[str, Any]) -> dict[str, Any]:
    enquiry = dict(document)
    if enquiry.get("mobile") and "phone" not in enquiry:
        enquiry["phone"] = with_country_code(enquiry.get("isd"), enquiry["mobile"])
    return enquiry


PROVIDERS = (
    Provider(
        kind="magicbricks",
        label="MagicBricks",
        setup="Ask MagicBricks to push your enquiries to the source's URL (GET or POST with `name`, `mobile`, "
        "`email`, `msg`, `project`, `City`, ...).",
        rules=Rules(
            mapping={
                "name": "name",
                "phone": "phone",
                "mobile": "phone",
                "email": "email",
                "City": "city",
                "city": "city",
                "project": "project",
                "msg": "message",
            },
            phone_region="IN",
        ),
        auth=Auth("url"),
        methods=frozenset({"GET", "POST"}),
        split=enquiries,
        success_text="Success: Lead punched in the CRM",
    ),
)
