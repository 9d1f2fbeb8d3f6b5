"""JustDial: a lead pushed to the source's URL, its fields as query parameters of a GET (or posted by name).

From JustDial's lead API as CRM integrations receive it: ``leadid``, ``leadtype``, ``prefix``, ``name``, ``mobile``
(ten digits), ``phone`` (a landline with its STD code), ``email``, ``date``, ``time``, ``category`` (what the
prospect searched for), ``city``, ``area``, ``brancharea``, ``dncmobile``, ``dncphone``, ``company``, ``pincode``,
``branchpin`` and ``parentid``. Integrations answer ``RECEIVED``, which JustDial takes as delivered. JustDial signs
nothing and sends no header of the client's choosing: the source's unguessable URL is the credential.
"""

from __future__ import annotations

from ingest.sources.mapping import Rules
from ingest.sources.providers.base import Auth, Provider

__all__ = ("PROVIDERS",)

PROVIDERS = (
    Provider(
        kind="justdial",
        label="JustDial",
        setup="Ask JustDial to push your leads to the source's URL (GET or POST with `leadid`, `name`, `mobile`, "
        "`email`, `city`, ...); each is answered `RECEIVED`.",
        rules=Rules(
            mapping={
                "name": "name",
                "mobile": "phone",
                "phone": "phone",  # the landline, when there is no mobile
                "email": "email",
                "company": "company",
                "city": "city",
                "area": "locality",
                "pincode": "postcode",
                "category": "product",
            },
            phone_region="IN",
            id_field="leadid",
        ),
        auth=Auth("url"),
        methods=frozenset({"GET", "POST"}),
        success_text="RECEIVED",
    ),
)
