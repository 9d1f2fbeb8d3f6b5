"""Each sender answered and read as it expects: Google's sample key and test leads, Meta's standard questions.

Google's payloads follow Google Ads' "Lead form webhook implementation" guide (the ``WebhookLead`` schema) and the
sample lead its "send test data" button posts (key ``testkey``, ``is_test`` true). Meta's follow its "Retrieving
Leads" guide (``field_data`` of ``{name, values}``) and the names its instant forms give the standard (prefill)
questions.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from leads.models import Submission
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, create_form, serve
from tests.ingest.senders import add_source, hook_path

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Tenant

SETTINGS = {**INGEST, "source_fetch_retry_schedule": "0.1,0.1,0.1"}
GOOGLE_TEST_LEAD_ID = (
    "TeSter-123-ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz-0123456789-AaBbCcDdEeFfGgHhIiJjKkLl"
)


def google_sample(**changes: Any) -> dict[str, Any]:
    """The lead Google Ads posts when "send test data" is pressed, as its webhook guide documents it."""
    return {
        "lead_id": GOOGLE_TEST_LEAD_ID,
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "FirstName LastName", "column_id": "FULL_NAME"},
            {"column_name": "User Phone", "string_value": "+16505550123", "column_id": "PHONE_NUMBER"},
            {"column_name": "User Email", "string_value": "test@example.com", "column_id": "EMAIL"},
        ],
        "api_version": "1.0",
        "form_id": 40000000000,
        "campaign_id": 20000000000,
        "google_key": "testkey",
        "is_test": True,
        "gcl_id": GOOGLE_TEST_LEAD_ID,
        "adgroup_id": 20000000000,
        "creative_id": 30000000000,
        **changes,
    }


async def _submissions(db: Database, source_id: str) -> list[Submission]:
    async with db.session(write=False) as session:
        rows = await session.scalars(select(Submission).where(Submission.source_id == source_id))
        return list(rows)


async def test_google_s_own_sample_key_is_taken_and_its_test_lead_stored_as_a_test(
    database_url: str, tenant: Tenant, db: Database
) -> None:
    async with serve(make_settings(database_url, **SETTINGS)) as client:
        form = await create_form(client, tenant)
        source = await add_source(client, tenant, form, kind="google_ads", google_key="testkey")
        sent = await client.post(hook_path(source), json=google_sample())
        wrong = await client.post(hook_path(source), json=google_sample(google_key="testkey2"))
        made = await add_source(client, tenant, form, kind="google_ads")
        refused = [
            await client.post(
                "/api/v1/sources",
                json={"kind": "google_ads", "form_id": form["id"], "google_key": key},
                headers=tenant.headers,
            )
            for key in ("", "tab\tkey", "k" * 501)
        ]
        await asyncio.sleep(0.3)

    assert source["secrets"]["google_key"] == "testkey"
    assert sent.is_success, sent.text
    assert wrong.status_code == 401
    stored = await _submissions(db, source["id"])
    assert [(s.verdict, s.lead_id, s.fields["email"]) for s in stored] == [("test", None, "test@example.com")]
    assert len(made["secrets"]["google_key"]) >= 32  # a key Leadwire makes stays long
    for answer in refused:
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
