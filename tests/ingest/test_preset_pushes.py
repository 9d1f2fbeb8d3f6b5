"""Issue 18's "done when" for every push preset, over HTTP: its documented sample becomes one lead.

Each sample is the one its preset's unit test maps (``test_preset_justdial.py``, ``test_preset_magicbricks.py``,
``test_preset_housing.py``, ``test_preset_typeform.py``, ``test_preset_tally.py``, ``test_preset_jotform.py``, and
IndiaMART's push webhook in ``test_pull_presets.py``), imported from there. Here a source is created through the API
from its kind and a form, the sample is pushed to its URL exactly as the sender sends it (method, content type,
signature), and a real webhook receiver checks the ``lead.created`` it gets: the form's values, the kind in
``data.submission.source`` and the sender's lead id in ``data.submission.source_lead_id``. The same push again is
answered the same and is still one lead and one webhook. One server serves the module; each test has a workspace,
a form and a receiver of its own.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from core.database import Database
from delivery.models import Message
from leads.models import Lead, Submission
from tests.conftest import BACKENDS, empty_database, make_settings, new_tenant
from tests.ingest import test_preset_housing as housing
from tests.ingest import test_preset_jotform as jotform
from tests.ingest import test_preset_justdial as justdial
from tests.ingest import test_preset_magicbricks as magicbricks
from tests.ingest import test_preset_tally as tally
from tests.ingest import test_preset_typeform as typeform
from tests.ingest import test_pull_presets as indiamart
from tests.ingest.conftest import INGEST, add_endpoint, create_form, serve, verified_event
from tests.ingest.preset_forms import LEAD_FORM
from tests.ingest.preset_pushes import Hub, Sent, Workspace, multipart, tally_signature, typeform_signature
from tests.ingest.senders import hook_path as hook

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from tests.webhooks import Receiver

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_JOTFORM_BODY, _JOTFORM_TYPE = multipart(jotform.POSTED)

_JUSTDIAL_FIELDS = {
    "name": "Ravi Kumar",
    "email": "ravi.kumar@example.com",
    "phone": "+919876543210",
    "company": "Kumar Traders",
    "city": "Mumbai",
    "locality": "Andheri West",
    "postcode": "400053",
    "product": "Packers And Movers",
    "newsletter": False,
}
_MAGICBRICKS_FIELDS = {
    "name": "Amit Shah",
    "email": "amit.shah@example.com",
    "phone": "+919820012345",
    "city": "Thane",
    "project": "Lodha Palava",
    "message": "I am interested in your property 2 BHK Multistorey Apartment for Sale in Palava",
    "newsletter": False,
}
PUSHES = [
    Sent("justdial", "GET", query=justdial.QUERY, fields=_JUSTDIAL_FIELDS, lead_id="0124PX22.X22.240514103259.K7T2"),
    Sent(
        "justdial",
        "POST",
        body=justdial.QUERY.encode(),
        content_type=_FORM,
        fields=_JUSTDIAL_FIELDS,
        lead_id="0124PX22.X22.240514103259.K7T2",
    ),
    Sent("magicbricks", "GET", query=magicbricks.QUERY, fields=_MAGICBRICKS_FIELDS),
    Sent("magicbricks", "POST", body=magicbricks.QUERY.encode(), content_type=_FORM, fields=_MAGICBRICKS_FIELDS),
    Sent(
        "housing",
        "POST",
        body=json.dumps(housing.SAMPLE).encode(),
        content_type=_JSON,
        fields={
            "name": "Manish",
            "email": "example@gmail.com",
            "phone": "+919415516905",
            "city": "Kanpur",
            "locality": "Khyora",
            "project": "The Peak",
            "newsletter": False,
        },
    ),
    Sent(
        "typeform",
        "POST",
        body=json.dumps(typeform.SAMPLE).encode(),
        content_type=_JSON,
        sign=typeform_signature,
        mapping={
            "readable_ref_short_text": "name",
            "readable_ref_long_text": "message",
            "readable_ref_legal": "newsletter",
        },
        fields={
            "name": "Laura",
            "email": "laura@example.com",
            "message": typeform.SAMPLE["form_response"]["answers"][0]["text"],
            "newsletter": True,
        },
        lead_id="a3a12ec67a1365927098a606107fac15",
    ),
    Sent(
        "tally",
        "POST",
        body=json.dumps(tally.SAMPLE).encode(),
        content_type=_JSON,
        sign=tally_signature,
        mapping={"Topics": "topics", "How can we help?": "message"},
        fields={
            "name": "Alice Martin",
            "email": "alice@example.com",
            "phone": "+12027621401",
            "company": "Martin & Co",
            "topics": ["pricing", "api"],
            "message": "A demo, please.",
            "newsletter": False,
        },
        lead_id="2wgx4n",
    ),
    Sent(
        "jotform",
        "POST",
        body=_JOTFORM_BODY,
        content_type=_JOTFORM_TYPE,
        fields={
            "name": "Asha Rao",
            "email": "asha.rao@example.com",
            "phone": "+919876543210",
            "company": "Rao Exports",
            "city": "Pune",
            "postcode": "411001",
            "topics": ["pricing", "api"],
            "message": "Please call after 5 pm.",
            "newsletter": False,
        },
        lead_id="5912768210418463279",
    ),
    Sent(
        "indiamart",
        "POST",
        body=json.dumps(indiamart.PUSHED).encode(),
        content_type=_JSON,
        fields={
            "name": "Arun Kumar",
            "email": "arun@example.com",
            "phone": "+919876543210",
            "company": "Arun Industries",
            "city": "Meerut",
            "product": "Dye Sublimation Ink",
            "message": "I want to buy Dye Sublimation Ink.<br> Quantity :   20<br> Quantity Unit :   litre<br>",
            "newsletter": False,
        },
        lead_id="2687336412",
    ),
]
SIGNED = [push for push in PUSHES if push.sign is not None]


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return empty_database(request, request.param, tmp_path_factory.mktemp("preset-pushes"))


@pytest.fixture(scope="module")
async def hub(module_database_url: str) -> AsyncIterator[Hub]:
    """One server for the module (starting one per test would cost the suite a second each)."""
    settings = make_settings(module_database_url, **INGEST)
    database = Database(settings)
    try:
        async with serve(settings) as client:
            yield Hub(client, database)
    finally:
        await database.dispose()


@pytest.fixture
async def workspace(hub: Hub) -> Workspace:
    """A workspace of its own for each test: its leads, people and webhooks are the test's alone."""
    tenant = await new_tenant(hub.db, f"Acme {uuid.uuid4().hex[:8]}")
    form = await create_form(hub.client, tenant, **LEAD_FORM)
    return Workspace(hub, tenant, form)


@dataclass
class Stored:
    submissions: int
    leads: int
    events: int


async def _stored(hub: Hub, workspace: Workspace) -> Stored:
    async with hub.db.session(write=False) as session:

        async def count(model: Any, *where: Any) -> int:
            statement = select(func.count()).select_from(model).where(model.workspace_id == workspace.id, *where)
            return int(await session.scalar(statement) or 0)

        return Stored(
            submissions=await count(Submission),
            leads=await count(Lead),
            events=await count(Message, Message.event_type == "lead.created"),
        )


@pytest.mark.parametrize("push", PUSHES, ids=lambda push: f"{push.kind}-{push.method}")
async def test_a_presets_documented_sample_becomes_one_lead_however_often_it_is_pushed(
    hub: Hub, workspace: Workspace, receiver: Receiver, push: Sent
) -> None:
    endpoint = await add_endpoint(hub.client, workspace.tenant, receiver.url)
    source = await workspace.source(push.kind, mapping=push.mapping)

    first = await hub.push(source, push)
    again = await hub.push(source, push)
    await receiver.wait_for(1)

    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.content == first.content  # the very same answer, which the sender takes as delivered
    assert again.headers["idempotent-replayed"] == "true"
    if push.kind in {"justdial", "magicbricks"}:
        assert first.headers["content-type"].startswith("text/plain")
        assert first.text == {"justdial": "RECEIVED", "magicbricks": "Success: Lead punched in the CRM"}[push.kind]
    else:
        [lead] = first.json()["leads"]
        assert first.json() == {"received": 1, "leads": [{"submission_id": lead["submission_id"], "duplicate": False}]}
    assert await _stored(hub, workspace) == Stored(submissions=1, leads=1, events=1)
    assert len(receiver.requests) == 1
    event = verified_event(endpoint, receiver, 0)
    assert event["type"] == "lead.created"
    submission = event["data"]["submission"]
    assert submission["source"] == push.kind
    assert submission["source_lead_id"] == push.lead_id
    assert submission["fields"] == push.fields
    assert event["data"]["lead"]["name"] == push.fields["name"]
    assert event["data"]["lead"]["phone"] == push.fields.get("phone")


@pytest.mark.parametrize("push", SIGNED, ids=lambda push: push.kind)
async def test_a_signed_presets_push_with_a_wrong_signature_is_401_and_stores_nothing(
    hub: Hub, workspace: Workspace, push: Sent
) -> None:
    source = await workspace.source(push.kind, mapping=push.mapping)
    tampered = push.body.replace(b"@example.com", b"@example.org")
    assert tampered != push.body

    answers = [
        await hub.push(source, push, secret="not-the-sources-secret-0123456789"),
        await hub.push(source, push, body=tampered),  # signed as the sample was, but changed on the way
        await hub.push(source, Sent(push.kind, push.method, body=push.body, content_type=push.content_type)),
    ]

    for answer in answers:
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert await _stored(hub, workspace) == Stored(submissions=0, leads=0, events=0)
    assert (await hub.push(source, push)).status_code == 200  # the source itself works: it was the signatures


@pytest.mark.parametrize(
    ("kind", "changed"),
    [
        (
            "magicbricks",
            Sent("magicbricks", "GET", query=magicbricks.QUERY.replace("time=11%3A32%3A10", "time=11%3A40%3A00")),
        ),
        (
            "housing",
            Sent(
                "housing",
                "POST",
                body=json.dumps({**housing.SAMPLE, "lead_date": housing.SAMPLE["lead_date"] + 480}).encode(),
                content_type=_JSON,
            ),
        ),
    ],
)
async def test_without_a_lead_id_only_an_identical_push_is_the_same_lead(
    hub: Hub, workspace: Workspace, kind: str, changed: Sent
) -> None:
    source = await workspace.source(kind)
    push = next(push for push in PUSHES if push.kind == kind)

    first = await hub.push(source, push)
    later = await hub.push(source, changed)  # the same person asking again later: another submission of theirs

    assert (first.status_code, later.status_code) == (200, 200)
    assert "idempotent-replayed" not in later.headers
    assert (await _stored(hub, workspace)).submissions == 2


@pytest.mark.parametrize("kind", ["tradeindia", "99acres"])
async def test_a_push_to_a_pull_only_source_is_405_saying_its_leads_are_pulled(
    hub: Hub, workspace: Workspace, kind: str
) -> None:
    source = await workspace.source(kind, pull=indiamart.ACCEPTED[kind])

    posted = await hub.client.post(hook(source), json=housing.SAMPLE)
    got = await hub.client.get(hook(source), params={"name": "Asha"})

    for answer in (posted, got):
        assert answer.status_code == 405, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["allow"] == ""  # RFC 9110: an empty Allow says that the resource takes no method
        assert answer.json()["detail"] == (
            f"{kind} sources take no pushes: Leadwire pulls their leads with the source's pull credentials"
        )
    assert await _stored(hub, workspace) == Stored(submissions=0, leads=0, events=0)
