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

from forms.models import Form
from ingest.sources.kinds import InboundLead
from ingest.sources.models import Source
from ingest.sources.service import map_lead
from leads.models import Submission
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, add_endpoint, create_form, serve, valid, verified_event
from tests.ingest.senders import add_source, fake_graph_api, hook_path, meta_leadgen, standard_webhook

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Tenant
    from tests.webhooks import Receiver

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


CONTACT_FIELDS = [
    {"name": "name", "type": "text", "required": True},
    {"name": "email", "type": "email", "required": True},
    {"name": "phone", "type": "phone"},
    {"name": "address", "type": "text"},
    {"name": "city", "type": "text"},
    {"name": "state", "type": "text"},
    {"name": "postcode", "type": "text"},
    {"name": "country", "type": "text"},
    {"name": "company", "type": "text"},
    {"name": "job_title", "type": "text"},
]


def _answers(**values: str) -> list[dict[str, Any]]:
    return [{"name": name, "values": [value]} for name, value in values.items()]


async def test_a_meta_source_without_a_mapping_reads_meta_s_standard_questions(
    database_url: str, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    async with fake_graph_api("app-secret-123") as graph:
        graph.leads["701"] = _answers(
            full_name="Mei Lin",
            email="mei@example.com",
            phone_number="+919876543210",
            street_address="12 MG Road",
            city="Pune",
            state="Maharashtra",
            zip_code="411001",
            country="IN",
            company_name="Lin Traders",
            job_title="Owner",
        )
        graph.leads["702"] = _answers(
            first_name="Arjun", last_name="Mehta", email="arjun@example.com", post_code="SW1A 1AA", province="Ontario"
        )
        settings = make_settings(database_url, **SETTINGS, meta_graph_base_url=graph.base)
        async with serve(settings) as client:
            form = await create_form(client, tenant, fields=CONTACT_FIELDS)
            endpoint = await add_endpoint(client, tenant, receiver.url)
            source = await add_source(
                client,
                tenant,
                form,
                kind="meta_lead_ads",
                meta_app_secret="app-secret-123",
                meta_page_access_token="page-token-456",
            )
            body, headers = meta_leadgen("app-secret-123", "701", "702")
            accepted = await client.post(hook_path(source), content=body, headers=headers)
            await receiver.wait_for(2, seconds=30)

    assert accepted.status_code == 200, accepted.text
    events = [verified_event(endpoint, receiver, i)["data"] for i in range(2)]
    by_email = {event["lead"]["email"]: event["submission"]["fields"] for event in events}
    assert by_email["mei@example.com"] == {
        "name": "Mei Lin",
        "email": "mei@example.com",
        "phone": "+919876543210",
        "address": "12 MG Road",
        "city": "Pune",
        "state": "Maharashtra",
        "postcode": "411001",
        "country": "IN",
        "company": "Lin Traders",
        "job_title": "Owner",
    }
    # Without a full name, the first and last names make the name.
    assert by_email["arjun@example.com"] == {
        "name": "Arjun Mehta",
        "email": "arjun@example.com",
        "postcode": "SW1A 1AA",
        "state": "Ontario",
    }
    assert {event["submission"]["source_lead_id"] for event in events} == {"701", "702"}
    assert {s.verdict for s in await _submissions(db, source["id"])} == {"accepted"}


def test_meta_s_default_rules_are_quiet_about_fields_a_form_lacks_and_yield_to_the_source_s_own() -> None:
    form = Form(id="form_meta", version=1, fields=[{"name": "email", "type": "email"}], consents=[], settings={})
    lead = InboundLead("703", {"first_name": "Arjun", "last_name": "Mehta", "email": "arjun@example.com"})
    plain = Source(kind="meta_lead_ads", mapping={}, config={})
    own = Source(kind="meta_lead_ads", mapping={"work_email": "email"}, config={})

    mapped = map_lead(plain, form, lead)
    assert (mapped.values, mapped.problems) == ({"email": ["arjun@example.com"]}, [])
    # The source's own path for a field is read first; Meta's standard one only when it is empty.
    with_work = InboundLead("704", {"email": "a@example.com", "work_email": "arjun@work.example"})
    assert map_lead(own, form, with_work).values == {"email": ["arjun@work.example"]}
    assert map_lead(own, form, lead).values == {"email": ["arjun@example.com"]}


async def test_lead_created_names_the_sender_s_own_lead_id_and_the_api_shows_it(
    database_url: str, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    async with serve(make_settings(database_url, **SETTINGS)) as client:
        form = await create_form(client, tenant)
        endpoint = await add_endpoint(client, tenant, receiver.url)
        standard = await add_source(client, tenant, form, kind="standard_webhooks", mapping={"full_name": "name"})
        google = await add_source(client, tenant, form, kind="google_ads", google_key="testkey")
        lead = {"data": {"full_name": "Ines Ito", "email": "ines@example.com"}}
        body, headers = standard_webhook(standard["secrets"]["whsec"], lead, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        answers = [
            await client.post(hook_path(standard), content=body, headers=headers),
            await client.post(hook_path(google), json=google_sample(is_test=False)),
            await client.post(f"/f/{form['slug']}", json=valid()),
        ]
        await receiver.wait_for(3)
        submissions = (await client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"]
        events = {e["lead"]["email"]: e for e in (verified_event(endpoint, receiver, i)["data"] for i in range(3))}
        google_lead = events["test@example.com"]["lead"]["id"]
        history = (await client.get(f"/api/v1/leads/{google_lead}", headers=tenant.headers)).json()
        erased = await client.post("/api/v1/privacy/erase", json={"email": "test@example.com"}, headers=tenant.headers)

    assert all(answer.is_success for answer in answers), [answer.text for answer in answers]
    seen = {email: (e["submission"]["source"], e["submission"]["source_lead_id"]) for email, e in events.items()}
    assert seen == {
        "ines@example.com": ("standard_webhooks", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
        "test@example.com": ("google_ads", GOOGLE_TEST_LEAD_ID),
        "asha@example.com": ("api", None),
    }
    assert sorted((s["source"], s["source_lead_id"]) for s in submissions) == [
        ("api", None),
        ("google_ads", GOOGLE_TEST_LEAD_ID),
        ("standard_webhooks", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
    ]
    assert [s["source_lead_id"] for s in history["submissions"]] == [GOOGLE_TEST_LEAD_ID]
    # The provider's id finds the person at the provider: it is erased with them.
    assert erased.status_code == 200, erased.text
    assert [s.source_lead_id for s in await _submissions(db, google["id"])] == [None]
