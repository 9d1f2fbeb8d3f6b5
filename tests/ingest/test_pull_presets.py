"""The IndiaMART, TradeIndia and 99acres presets: their field mappings, and the pull credentials a source is given.

The pulling itself is in ``test_pull_sources.py``; here, IndiaMART's documented push samples (``{"CODE", "STATUS",
"RESPONSE": {...}}``, the same lead object its pull API lists) go through the preset's ``split`` and
``service.map_lead``, and the admin API checks each provider's credentials when a source is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from forms import service as forms
from ingest.sources import service
from ingest.sources.kinds import InboundLead
from ingest.sources.models import Source
from ingest.sources.providers import provider
from tests.fakes.indiamart import indiamart_lead
from tests.ingest.conftest import create_form
from tests.ingest.pulls import PULL_FORM, create_pull_source

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Client, Tenant

PUSHED = {"CODE": 200, "STATUS": "SUCCESS", "RESPONSE": indiamart_lead("2687336412", 3)}
"""What IndiaMART's push webhook posts for one lead (its "Push API" of the Lead Manager)."""


async def _rows(db: Database, source_id: str, form_id: str) -> tuple[Source, Any]:
    async with db.session(write=False) as session:
        source = await session.get(Source, source_id)
        form = await forms.get_form_any(session, form_id=form_id)
    assert source is not None
    return source, form


async def test_indiamart_push_samples_map_onto_the_form_by_default(
    app_client: Client, tenant: Tenant, db: Database
) -> None:
    form = await create_form(app_client, tenant, **PULL_FORM)
    response = await app_client.post(
        "/api/v1/sources",
        json={"kind": "indiamart", "form_id": form["id"], "consent_purposes": ["sales_contact"]},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    source, form_row = await _rows(db, response.json()["id"], form["id"])

    kind = provider("indiamart")
    documents = kind.split(PUSHED)
    mapped = [service.map_lead(source, form_row, InboundLead(external_id="", values=d)) for d in documents]

    assert kind.pulls
    assert "POST" in kind.methods
    assert len(mapped) == 1
    assert mapped[0].values == {
        "name": ["Arun Kumar"],
        "email": ["arun@example.com"],
        "phone": ["+919876543210"],
        "company": ["Arun Industries"],
        "city": ["Meerut"],
        "message": ["I want to buy Dye Sublimation Ink.<br> Quantity :   20<br> Quantity Unit :   litre<br>"],
    }
    assert mapped[0].external_id == "2687336412"
    assert mapped[0].problems == []
    # The pull API lists the same objects: a list under RESPONSE is split into its leads.
    listed = {"CODE": 200, "STATUS": "SUCCESS", "RESPONSE": [indiamart_lead("1", 2), indiamart_lead("2", 1)]}
    assert [d["UNIQUE_QUERY_ID"] for d in kind.split(listed)] == ["1", "2"]


async def test_a_sources_own_mapping_wins_over_the_preset(app_client: Client, tenant: Tenant, db: Database) -> None:
    form = await create_form(app_client, tenant, **PULL_FORM)
    created = await create_pull_source(
        app_client,
        tenant,
        form,
        "indiamart",
        {"crm_key": "mRywEb5u4HfHTver432Y/1CPp1LEmzY="},
        mapping={"QUERY_PRODUCT_NAME": "message"},
    )
    source, form_row = await _rows(db, created["id"], form["id"])
    [document] = provider("indiamart").split(PUSHED)
    mapped = service.map_lead(source, form_row, InboundLead(external_id="", values=document))
    assert mapped.values["message"] == ["Dye Sublimation Ink"]
    assert mapped.values["name"] == ["Arun Kumar"]


REFUSED: list[tuple[str, dict[str, str] | None, str]] = [
    ("indiamart", {}, "pull.crm_key"),
    ("indiamart", {"crm_key": "   "}, "pull.crm_key"),
    ("indiamart", {"crm_key": "k3y-k3y-k3y", "glusr_mobile": "9876543210"}, "pull.glusr_mobile"),
    ("tradeindia", {"userid": "3810466", "key": "f8b778dc1fa04e148be1b004a416c6ad"}, "pull.profile_id"),
    ("99acres", {"username": "homes99"}, "pull.password"),
    ("tradeindia", None, "pull"),  # pulled only: its credentials are required
    ("99acres", None, "pull"),
    ("generic", {"crm_key": "k3y-k3y-k3y"}, "pull"),  # no pull API
]
ACCEPTED = {
    "indiamart": {"crm_key": "mRywEb5u4HfHTver432Y/1CPp1LEmzY="},
    "tradeindia": {"userid": "3810466", "profile_id": "5164844", "key": "f8b778dc1fa04e148be1b004a416c6ad"},
    "99acres": {"username": "homes99", "password": "s3cret-99-pass"},
}


async def test_pull_credentials_are_checked_per_provider(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant, **PULL_FORM)
    for kind, pull, problem in REFUSED:
        body: dict[str, Any] = {"kind": kind, "form_id": form["id"], "auth": {"type": "url"}}
        if pull is not None:
            body["pull"] = pull
        response = await app_client.post("/api/v1/sources", json=body, headers=tenant.headers)
        assert response.status_code == 422, (kind, pull, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem in [error["field"] for error in response.json()["errors"]], (kind, pull, response.text)


async def test_pull_credentials_are_never_shown_back(app_client: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    form = await create_form(app_client, tenant, **PULL_FORM)
    for kind, pull in ACCEPTED.items():
        created = await create_pull_source(app_client, tenant, form, kind, pull)
        shown = await app_client.get(f"/api/v1/sources/{created['id']}", headers=tenant.headers)
        listed = await app_client.get("/api/v1/sources", headers=tenant.headers)
        theirs = await app_client.get(f"/api/v1/sources/{created['id']}", headers=other_tenant.headers)

        assert created["pulls"] is True
        assert shown.json()["pulls"] is True
        assert shown.json()["pull"]["cursor"] is None
        assert theirs.status_code == 404
        secret = max(pull.values(), key=len)
        for text in (str(created), shown.text, listed.text):
            assert secret not in text
