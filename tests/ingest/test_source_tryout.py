"""``POST /api/v1/sources/{id}/try``: a sample payload, sent as its sender would send it, mapped and checked against
the form, with every problem shown and nothing stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from core.database import Base
from tests.conftest import make_settings
from tests.ingest.conftest import create_form, serve
from tests.ingest.senders import add_source as _source
from tests.ingest.test_sources import SOURCE_SETTINGS

if TYPE_CHECKING:
    import httpx

    from core.database import Database
    from tests.conftest import Tenant

# IndiaMART's push: the lead under RESPONSE, the mobile number written "+91-…" (its Push API documentation).
INDIAMART = {
    "CODE": 200,
    "STATUS": "SUCCESS",
    "RESPONSE": {
        "UNIQUE_QUERY_ID": "2687336412",
        "QUERY_TYPE": "W",
        "SENDER_NAME": "Ravi Kumar",
        "SENDER_MOBILE": "+91-9876543210",
        "SENDER_EMAIL": "Ravi.Kumar@Example.com",
        "SENDER_COMPANY": "Kumar Traders",
        "SENDER_CITY": "Pune",
        "QUERY_MESSAGE": "Need 40 units",
    },
}
RULES: dict[str, Any] = {
    "mapping": {
        "RESPONSE.SENDER_NAME": "name",
        "RESPONSE.SENDER_EMAIL": "email",
        "RESPONSE.SENDER_MOBILE": "phone",
        "RESPONSE.QUERY_MESSAGE": "message",
    },
    "id_field": "RESPONSE.UNIQUE_QUERY_ID",
    "phone_region": "IN",
    "defaults": {"team_size": "1-10"},
}


async def _row_counts(db: Database) -> dict[str, int]:
    async with db.session(write=False) as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


async def _try(
    client: httpx.AsyncClient,
    tenant: Tenant,
    source: dict[str, Any],
    headers: dict[str, str] | None = None,
    **sent: Any,
) -> httpx.Response:
    return await client.post(
        f"/api/v1/sources/{source['id']}/try", headers={**tenant.headers, **(headers or {})}, **sent
    )


async def test_a_sample_is_mapped_checked_and_shown_with_every_problem_and_nothing_is_stored(
    database_url: str, tenant: Tenant, other_tenant: Tenant, db: Database
) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        source = await _source(client, tenant, form, kind="generic", auth={"type": "query", "name": "key"}, **RULES)
        before = await _row_counts(db)

        good = await _try(client, tenant, source, json=INDIAMART)
        broken = {"RESPONSE": {"SENDER_NAME": "Ravi Kumar", "SENDER_EMAIL": "not-an-email", "SENDER_MOBILE": "12"}}
        bad = await _try(client, tenant, source, json=[broken, INDIAMART])
        fields = await _try(
            client,
            tenant,
            source,
            content=b"name=Asha+Rao&email=asha%40example.com&topics=api&topics=pricing&key=the-key",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        query = await _try(client, tenant, source, params={"method": "GET"}, content=b"seats=x&topics=api")
        unreadable = await _try(
            client, tenant, source, content=b"{not json", headers={"content-type": "application/json"}
        )
        theirs = await _try(client, other_tenant, source, json=INDIAMART)
        no_key = await client.post(f"/api/v1/sources/{source['id']}/try", json=INDIAMART)
        after = await _row_counts(db)

    assert good.status_code == 200, good.text
    lead = good.json()["leads"][0]
    assert lead["lead_id"] == "2687336412"
    assert lead["mapped"] == {
        "name": ["Ravi Kumar"],
        "email": ["Ravi.Kumar@Example.com"],
        "phone": ["+919876543210"],
        "message": ["Need 40 units"],
        "team_size": ["1-10"],
    }
    assert lead["values"] == {
        "name": "Ravi Kumar",
        "email": "ravi.kumar@example.com",
        "phone": "+919876543210",
        "message": "Need 40 units",
        "team_size": "1-10",
        "newsletter": False,
    }
    assert lead["consents"] == ["sales_contact"]
    assert lead["problems"] == []

    first, second = bad.json()["leads"]
    assert {(p["field"], p["code"]) for p in first["problems"]} == {
        ("id_field", "missing_id"),
        ("email", "invalid_email"),
        ("phone", "invalid_phone"),
    }
    assert first["lead_id"] is None
    assert first["values"] == {"name": "Ravi Kumar", "newsletter": False, "team_size": "1-10"}
    assert second["problems"] == []

    assert fields.status_code == 200, fields.text
    lead = fields.json()["leads"][0]
    assert lead["mapped"]["topics"] == ["api", "pricing"]
    assert "the-key" not in fields.text  # the sender's key is removed as at the hook
    problems = query.json()["leads"][0]["problems"]
    assert {(p["field"], p["code"]) for p in problems} == {
        ("id_field", "missing_id"),
        ("name", "required"),  # the source maps its name from RESPONSE.SENDER_NAME, not from a field of that name
        ("email", "required"),
        ("seats", "invalid_number"),
    }
    assert query.json()["leads"][0]["values"]["topics"] == ["api"]

    assert unreadable.status_code == 400
    assert unreadable.headers["content-type"].startswith("application/problem+json")
    assert theirs.status_code == 404
    assert no_key.status_code == 401
    assert after == before


async def test_a_sample_for_a_signed_kind_is_read_as_its_sender_sends_it(database_url: str, tenant: Tenant) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        standard = await _source(client, tenant, form, kind="standard_webhooks", mapping={"full_name": "name"})
        google = await _source(client, tenant, form, kind="google_ads", google_key="k3y-from-google-ads")
        wrapped = await _try(
            client, tenant, standard, json={"type": "lead", "data": {"full_name": "Ines Ito", "email": "i@example.com"}}
        )
        columns = [
            {"column_id": "FULL_NAME", "string_value": "Gita Rao"},
            {"column_id": "EMAIL", "string_value": "gita@example.com"},
        ]
        google_sample = {"lead_id": "TeSter-123", "google_key": "any", "user_column_data": columns}
        from_google = await _try(client, tenant, google, json=google_sample)

    assert wrapped.status_code == 200, wrapped.text
    assert wrapped.json()["leads"][0]["values"]["name"] == "Ines Ito"
    assert from_google.status_code == 200, from_google.text
    lead = from_google.json()["leads"][0]
    assert lead["lead_id"] == "TeSter-123"
    assert lead["values"]["name"] == "Gita Rao"
    assert lead["problems"] == []
