"""The kinds Leadwire first knew: any sender (``generic``), Standard Webhooks, Google Ads and Meta Lead Ads."""

from __future__ import annotations

from ingest.sources.mapping import Rules
from ingest.sources.providers.base import Auth, Provider

__all__ = ("PROVIDERS",)

_GOOGLE_COLUMNS = {
    "FULL_NAME": "name",
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "COMPANY_NAME": "company",
    "JOB_TITLE": "job_title",
    "CITY": "city",
    "POSTAL_CODE": "postcode",
    "COUNTRY": "country",
}

_META_QUESTIONS = {
    "full_name": "name",
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "phone_number": "phone",
    "street_address": "address",
    "city": "city",
    "state": "state",
    "province": "state",
    "zip_code": "postcode",
    "post_code": "postcode",
    "country": "country",
    "company_name": "company",
    "job_title": "job_title",
    "work_email": "work_email",
    "work_phone_number": "work_phone",
    "date_of_birth": "date_of_birth",
    "gender": "gender",
}
"""The names Meta's instant forms give their standard (prefill) questions in a lead's ``field_data``, to the form
fields they fill; the names are the same as Google's columns where the two ask the same thing."""

PROVIDERS = (
    Provider(
        kind="generic",
        label="Any sender (generic webhook)",
        setup="Give the sender the source's URL; choose how it proves itself (`auth`) and map its fields.",
        methods=frozenset({"GET", "POST"}),
    ),
    Provider(
        kind="standard_webhooks",
        label="Standard Webhooks",
        setup="Sign with the source's `whsec_` secret; the `webhook-id` is the lead's id.",
        auth=Auth("standard_webhooks"),
    ),
    Provider(
        kind="google_ads",
        label="Google Ads lead forms",
        setup="In the lead form's webhook integration, paste the source's URL and its `google_key`.",
        rules=Rules(mapping=_GOOGLE_COLUMNS),
        auth=Auth("google_key"),
    ),
    Provider(
        kind="meta_lead_ads",
        label="Meta (Facebook and Instagram) Lead Ads",
        setup="Subscribe the page's `leadgen` field to the source's URL with its verify token; leads are "
        "fetched from the Graph API with the page access token.",
        rules=Rules(mapping=_META_QUESTIONS, join={"name": ["first_name", "last_name"]}),
        auth=Auth("meta"),
        methods=frozenset({"GET", "POST"}),
    ),
)
