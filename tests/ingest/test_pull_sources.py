"""Pull sources: leads pulled from IndiaMART, TradeIndia and 99acres (fakes on 127.0.0.1) become leads once.

Each preset's documented records are pulled by the serving process's worker as soon as the source is created, and
stored and delivered as ``lead.created`` to a real receiver; the next pull's window overlaps the last one and a
lead seen twice is still one lead. IndiaMART's rules are kept: a 429 blocks the key for 15 minutes and nothing is
called before that, errors in a 200 body are recorded, a long absence is walked in windows of at most 7 days.
Two workers never poll one source at once.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from standardwebhooks import Webhook

from core.database import utcnow
from ingest.sources.pull import SourcePoller
from tests.conftest import make_settings
from tests.fakes import IST
from tests.fakes.acres99 import Fake99acres, acres99_query
from tests.fakes.indiamart import FakeIndiaMart, indiamart_lead
from tests.fakes.tradeindia import FakeTradeIndia, tradeindia_inquiry
from tests.ingest.conftest import INGEST, add_endpoint, create_form, serve
from tests.ingest.pulls import (
    PULL_FORM,
    create_pull_source,
    make_due,
    pull_state,
    settled,
    stored,
    worker_services,
)

if TYPE_CHECKING:
    from core.database import Database
    from tests.conftest import Tenant
    from tests.webhooks import Receiver

CRM_KEY = "mRywEb5u4HfHTver432Y/1CPp1LEmzY="


@dataclass
class Preset:
    kind: str
    setting: str
    fake: Any
    pull: dict[str, str]
    expected: dict[str, dict[str, Any]]
    """Each record's id to the form values its lead must have."""


def _indiamart() -> Preset:
    older = indiamart_lead("2243859917", 20)
    recent = indiamart_lead(
        "2243945858",
        2,
        SENDER_NAME="Mamilla Ganga Shekhar",
        SENDER_MOBILE="+91-9100843314",
        SENDER_EMAIL="ganga@example.com",
        SENDER_COMPANY="VS Automation",
        SENDER_CITY="Hyderabad",
        SENDER_STATE="Telangana",
        QUERY_PRODUCT_NAME="Capacitive Proximity Sensors",
        QUERY_MESSAGE="I want to buy Capacitive Proximity Sensors. Quantity : 6 piece",
    )
    return Preset(
        "indiamart",
        "indiamart_base_url",
        FakeIndiaMart(CRM_KEY, [older, recent]),
        {"crm_key": CRM_KEY},
        {
            "2243859917": {
                "name": "Arun Kumar",
                "email": "arun@example.com",
                "phone": "+919876543210",
                "company": "Arun Industries",
                "city": "Meerut",
                "message": older["QUERY_MESSAGE"],
            },
            "2243945858": {
                "name": "Mamilla Ganga Shekhar",
                "email": "ganga@example.com",
                "phone": "+919100843314",
                "company": "VS Automation",
                "city": "Hyderabad",
                "message": "I want to buy Capacitive Proximity Sensors. Quantity : 6 piece",
            },
        },
    )


def _tradeindia() -> Preset:
    older = tradeindia_inquiry("1001770931", 20)
    recent = tradeindia_inquiry(
        "1001771045",
        2,
        sender_name="Harpreet Singh",
        sender_mobile="+91 98140 12345",
        sender_email="harpreet@example.com",
        sender_co="Singh Fabricators",
        sender_city="Ludhiana",
        message="Need 50 MS angle brackets, please share the price list.",
    )
    credentials = {"userid": "3810466", "profile_id": "5164844", "key": "f8b778dc1fa04e148be1b004a416c6ad"}
    return Preset(
        "tradeindia",
        "tradeindia_base_url",
        FakeTradeIndia(**credentials, inquiries=[older, recent]),
        credentials,
        {
            "1001770931": {
                "name": "Meena Iyer",
                "email": "meena@example.com",
                "phone": "+919812345678",
                "company": "Iyer Traders",
                "city": "Chennai",
                "message": older["message"],
            },
            "1001771045": {
                "name": "Harpreet Singh",
                "email": "harpreet@example.com",
                "phone": "+919814012345",
                "company": "Singh Fabricators",
                "city": "Ludhiana",
                "message": "Need 50 MS angle brackets, please share the price list.",
            },
        },
    )


def _acres99() -> Preset:
    older = acres99_query("OMNI_ADS_RESPONSE-3398141", 20)
    recent = acres99_query(
        "6958d4631514d37f9c23338d",
        2,
        ResType="S2M",
        CmpctLabl="Rs. 26.4 Lac, for Sale in Beerihundi",
        QryInfo="I am interested in this property.",
        CityName="Mysore",
        Name="Kiran Rao",
        Email="kiran@example.com",
        Phone="+91-9988776655",
    )
    return Preset(
        "99acres",
        "99acres_base_url",
        Fake99acres("homes99", "s3cret-99-pass", [older, recent]),
        {"username": "homes99", "password": "s3cret-99-pass"},
        {
            "OMNI_ADS_RESPONSE-3398141": {
                "name": "Priya Nair",
                "email": "priya@example.com",
                "phone": "+918082798814",
                "city": "Thane",
                "message": older["QryInfo"],
            },
            "6958d4631514d37f9c23338d": {
                "name": "Kiran Rao",
                "email": "kiran@example.com",
                "phone": "+919988776655",
                "city": "Mysore",
                "message": "I am interested in this property.",
            },
        },
    )


PRESETS = {"indiamart": _indiamart, "tradeindia": _tradeindia, "99acres": _acres99}


@pytest.mark.parametrize("kind", sorted(PRESETS))
async def test_a_presets_records_are_pulled_at_once_and_become_leads_once(
    kind: str, database_url: str, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    preset = PRESETS[kind]()
    fake = preset.fake
    async with (
        fake.serving() as base,
        serve(make_settings(database_url, **INGEST, **{preset.setting: base})) as client,
    ):
        form = await create_form(client, tenant, **PULL_FORM)
        endpoint = await add_endpoint(client, tenant, receiver.url)
        source = await create_pull_source(client, tenant, form, kind, preset.pull)
        await receiver.wait_for(2)
        first = await settled(db, source["id"], pulls=1)
        if isinstance(fake, FakeIndiaMart):
            fake.advance(6 * 60)  # IndiaMART takes one call in 5 minutes
        await make_due(db, source["id"])
        second = await settled(db, source["id"], pulls=2)
        await asyncio.sleep(0.3)  # a second lead would have been delivered by now
        shown = (await client.get(f"/api/v1/sources/{source['id']}", headers=tenant.headers)).json()

    submissions = await stored(db, source["id"])
    events = [Webhook(endpoint["secret"]).verify(body, headers) for headers, body in receiver.requests]
    by_email = {event["data"]["submission"]["fields"].get("email"): event for event in events}
    assert len(submissions) == 2
    assert len(events) == 2
    for expected in preset.expected.values():
        submission = next(s for s in submissions if s.fields.get("email") == expected["email"])
        assert {k: v for k, v in submission.fields.items() if v not in (None, "", [])} == expected
        assert submission.verdict == "accepted"
        event = by_email[expected["email"]]
        assert event["type"] == "lead.created"
        assert event["data"]["submission"]["source"] == kind
        assert event["data"]["lead"]["phone"] == expected["phone"]
        assert ("sales_contact", "given") in [(c["purpose"], c["state"]) for c in event["data"]["consent"]]
    # The second window began before the first one ended: the recent lead came again, and was not a second lead.
    recent = list(preset.expected)[1]
    assert sum(recent in ids for ids in fake.answered) == 2
    assert first.cursor is not None
    assert second.cursor is not None
    assert second.cursor >= first.cursor
    # Two records, then the recent one again; an older record a day-long window brings back is left out.
    assert (second.records, second.stored, second.last_error) == (3, 2, None)
    assert shown["pull"]["cursor"] is not None
    assert shown["pull"]["last_pull_at"] is not None
    assert shown["pull"]["last_error"] is None
    assert all(secret not in str(shown) for secret in preset.pull.values())


async def test_indiamart_429_blocks_the_key_and_nothing_is_called_before_the_block_ends(
    database_url: str, tenant: Tenant, db: Database
) -> None:
    fake = FakeIndiaMart(CRM_KEY)
    async with fake.serving() as base, serve(make_settings(database_url, **INGEST, indiamart_base_url=base)) as client:
        form = await create_form(client, tenant, **PULL_FORM)
        source = await create_pull_source(client, tenant, form, "indiamart", {"crm_key": CRM_KEY})
        quiet = await settled(db, source["id"], pulls=1)  # CODE 204: no leads is not an error
        await make_due(db, source["id"])  # too early for IndiaMART: it answers 429 and blocks the key
        blocked = await settled(db, source["id"], pulls=2)
        await make_due(db, source["id"])
        await asyncio.sleep(0.5)  # the poller looks every 0.05 s here; it must not call while the key is blocked
        calls = len(fake.calls)
        shown = (await client.get(f"/api/v1/sources/{source['id']}", headers=tenant.headers)).json()

    assert quiet.last_error is None
    assert quiet.cursor is not None
    assert calls == 2
    assert blocked.cursor == quiet.cursor
    assert blocked.blocked_until is not None
    assert timedelta(minutes=14) < blocked.blocked_until - utcnow() <= timedelta(minutes=15)
    assert blocked.last_error is not None
    assert "429" in blocked.last_error
    assert shown["pull"]["blocked_until"] is not None
    assert "429" in shown["pull"]["last_error"]
    assert CRM_KEY not in str(shown)
    # The key goes in the query, the times in IST as DD-Mon-YYYY HH:MM:SS.
    sent = fake.calls[0]
    assert sent["glusr_crm_key"] == CRM_KEY
    end = datetime.strptime(sent["end_time"], "%d-%b-%Y %H:%M:%S").replace(tzinfo=IST)
    assert abs(end - utcnow()) < timedelta(minutes=1)


async def test_errors_are_recorded_and_the_window_is_taken_again_until_it_succeeds(
    database_url: str, tenant: Tenant, db: Database
) -> None:
    fake = FakeIndiaMart(CRM_KEY, [indiamart_lead("2687336412", 30)])
    async with fake.serving() as base, serve(make_settings(database_url, **INGEST, indiamart_base_url=base)) as client:
        form = await create_form(client, tenant, **PULL_FORM)
        source = await create_pull_source(client, tenant, form, "indiamart", {"crm_key": "an-old-key-since-replaced"})
        wrong_key = await settled(db, source["id"], pulls=1)
        changed = await client.patch(
            f"/api/v1/sources/{source['id']}", json={"pull": {"crm_key": CRM_KEY}}, headers=tenant.headers
        )
        fake.malformed = True
        fake.advance(6 * 60)
        await make_due(db, source["id"])
        malformed = await settled(db, source["id"], pulls=2)
        fake.malformed = False
        fake.advance(6 * 60)
        await client.patch(f"/api/v1/sources/{source['id']}", json={"enabled": False}, headers=tenant.headers)
        await make_due(db, source["id"])
        await asyncio.sleep(0.5)
        calls_while_disabled = len(fake.calls)
        await client.patch(f"/api/v1/sources/{source['id']}", json={"enabled": True}, headers=tenant.headers)
        await make_due(db, source["id"])
        fixed = await settled(db, source["id"], pulls=3)

    assert changed.status_code == 200, changed.text
    assert wrong_key.last_error is not None
    assert "401" in wrong_key.last_error
    assert "an-old-key" not in wrong_key.last_error
    assert wrong_key.cursor is None
    assert malformed.last_error is not None
    assert "not JSON" in malformed.last_error
    assert malformed.cursor is None
    assert calls_while_disabled == 2
    assert fixed.last_error is None
    assert fixed.cursor is not None
    assert fixed.failures == 2
    assert [s.fields["name"] for s in await stored(db, source["id"])] == ["Arun Kumar"]


async def test_a_long_absence_is_walked_in_windows_of_at_most_seven_days(
    database_url: str, tenant: Tenant, db: Database
) -> None:
    fake = FakeIndiaMart(CRM_KEY, [indiamart_lead("1900000001", 18 * 24 * 60), indiamart_lead("1900000002", 60)])
    async with fake.serving() as base, serve(make_settings(database_url, **INGEST, indiamart_base_url=base)) as client:
        form = await create_form(client, tenant, **PULL_FORM)
        source = await create_pull_source(client, tenant, form, "indiamart", {"crm_key": CRM_KEY})
        await settled(db, source["id"], pulls=1)
        for pulls in (2, 3, 4):  # the cursor says the last pull was 25 days ago
            fake.advance(6 * 60)
            await make_due(db, source["id"], cursor_days_ago=25 if pulls == 2 else None)
            await settled(db, source["id"], pulls=pulls)
        state = await pull_state(db, source["id"])

    spans = [
        (
            datetime.strptime(call["start_time"], "%d-%b-%Y %H:%M:%S").replace(tzinfo=IST),
            datetime.strptime(call["end_time"], "%d-%b-%Y %H:%M:%S").replace(tzinfo=IST),
        )
        for call in fake.calls[1:]
    ]
    assert all(end - start <= timedelta(days=7) for start, end in spans)
    assert all(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))  # overlapping
    assert state.cursor is not None
    assert utcnow() - state.cursor > timedelta(days=3)  # three windows of 7 days do not reach today from 25 days ago
    names = sorted(s.fields["name"] for s in await stored(db, source["id"]))
    assert names == ["Arun Kumar", "Arun Kumar"]  # the lead of 18 days ago too, and the first pull's of an hour ago


async def test_two_workers_never_poll_one_source_at_once(database_url: str, tenant: Tenant, db: Database) -> None:
    credentials = {"userid": "3810466", "profile_id": "5164844", "key": "f8b778dc1fa04e148be1b004a416c6ad"}
    fake = FakeTradeIndia(**credentials, inquiries=[tradeindia_inquiry("1001770931", 5)])
    fake.delay = 0.3
    async with fake.serving() as base:
        settings = make_settings(database_url, **INGEST, tradeindia_base_url=base, run_worker="false")
        async with serve(settings) as client:  # no worker in this process: the pollers below are the workers
            form = await create_form(client, tenant, **PULL_FORM)
            source = await create_pull_source(client, tenant, form, "tradeindia", credentials)
        async with worker_services(settings) as one, worker_services(settings) as two:
            pollers = [SourcePoller(one), SourcePoller(two), SourcePoller(two)]
            try:
                claimed = await asyncio.gather(*(poller.run_once() for poller in pollers))
                # While one polls, the source is due again (as after a crash): the others still keep off it.
                await make_due(db, source["id"])
                fake.arrived.clear()
                polling = asyncio.create_task(pollers[0].run_once())
                await fake.arrived.wait()  # it holds the source, and is calling TradeIndia
                await make_due(db, source["id"])
                while_held = await asyncio.gather(pollers[1].run_once(), pollers[2].run_once())
                after = await polling
            finally:
                for poller in pollers:
                    await poller.stop()

    assert sorted(claimed) == [0, 0, 1]
    assert list(while_held) == [0, 0]
    assert after == 1
    assert fake.overlaps == 0
    state = await pull_state(db, source["id"])
    assert state.lease_owner is None
    assert len(fake.calls) == 2 * state.pulls  # each window: its page, then the empty page after it
    assert len(await stored(db, source["id"])) == 1
