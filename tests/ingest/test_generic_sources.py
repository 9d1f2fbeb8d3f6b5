"""Generic push sources: any sender posts (JSON, form fields, multipart) or GETs (a query string) to the source's URL,
proves itself the way its source says, and is answered 200 once every lead is safe.

The signature schemes are those senders document: GitHub's ``X-Hub-Signature-256`` (``sha256=`` and the hex HMAC-SHA256
of the raw body, "Validating webhook deliveries"), Typeform's ``Typeform-Signature`` (``sha256=`` and the base64
HMAC-SHA256 of the raw body, its webhooks security guide) and Shopify-style bare base64 digests; portals such as
IndiaMART and JustDial push with a key in the URL's query string or as form fields.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, literal_column, select
from standardwebhooks import Webhook

from core.database import Base
from leads.models import Submission
from tests.conftest import make_settings
from tests.ingest.conftest import add_endpoint, create_form, serve
from tests.ingest.preset_forms import LEAD_FORM
from tests.ingest.senders import add_source as _source
from tests.ingest.senders import hook_path as _hook
from tests.ingest.test_preset_justdial import QUERY as JUSTDIAL_QUERY
from tests.ingest.test_source_activity import payloads, settled
from tests.ingest.test_sources import SOURCE_SETTINGS

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx
    from sqlalchemy.engine import Result

    from core.database import Database
    from tests.conftest import Tenant
    from tests.webhooks import Receiver

ASHA = {"name": "Asha Rao", "email": "asha@example.com"}


async def _count(db: Database) -> int:
    async with db.session(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(Submission)) or 0)


async def _submissions(db: Database) -> dict[str, Submission]:
    async with db.session(write=False) as session:
        return {s.id: s for s in await session.scalars(select(Submission))}


def _events(endpoint: dict[str, Any], receiver: Receiver) -> list[dict[str, Any]]:
    return [Webhook(endpoint["secret"]).verify(body, headers) for headers, body in receiver.requests]


def _is_problem(response: httpx.Response, status: int) -> bool:
    return response.status_code == status and response.headers["content-type"].startswith("application/problem+json")


async def test_json_objects_arrays_form_posts_multipart_and_get_queries_each_become_leads(
    database_url: str, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        endpoint = await add_endpoint(client, tenant, receiver.url)
        source = await _source(
            client,
            tenant,
            form,
            kind="generic",
            auth={"type": "url"},
            # A field the mapping fills is read only from its paths: flat senders' own names are mapped too.
            mapping={"contact.full_name": "name", "contact.email": "email", "name": "name", "email": "email"},
            id_field="lead_id",
        )
        hook = _hook(source)
        nested = {"lead_id": "L1", "contact": {"full_name": "Asha Rao", "email": "asha@example.com"}}
        one = await client.post(hook, json=nested)
        many = await client.post(
            hook,
            json=[
                {"lead_id": "L2", "name": "Bala Iyer", "email": "bala@example.com", "topics": ["api", "security"]},
                {"lead_id": "L3", "name": "Chen Wu", "email": "chen@example.com"},
            ],
        )
        urlencoded = await client.post(
            hook,
            content=b"lead_id=L4&name=Ravi+Kumar&email=ravi%40example.com&topics=api&topics=pricing",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        multipart = await client.post(
            hook,
            data={"lead_id": "L5", "name": "Meera Das", "email": "meera@example.com"},
            files={"message": ("note.txt", b"a file is not a field", "text/plain")},
        )
        query = await client.get(hook, params={"lead_id": "L6", "name": "Nila Sen", "email": "nila@example.com"})
        empty_post = await client.post(hook + "?lead_id=L7&name=Om+Pal&email=om%40example.com")
        await receiver.wait_for(7)
        await asyncio.sleep(0.3)

    answers = [one, many, urlencoded, multipart, query, empty_post]
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    assert [a.json()["received"] for a in answers] == [1, 2, 1, 1, 1, 1]
    stored = await _submissions(db)
    ids = [lead["submission_id"] for a in answers for lead in a.json()["leads"]]
    assert sorted(ids) == sorted(stored)
    assert all(lead["duplicate"] is False for a in answers for lead in a.json()["leads"])
    assert {s.source for s in stored.values()} == {"generic"}
    fields = {
        e["data"]["submission"]["fields"]["email"]: e["data"]["submission"]["fields"]
        for e in _events(endpoint, receiver)
    }
    assert fields["asha@example.com"]["name"] == "Asha Rao"
    assert fields["bala@example.com"]["topics"] == ["api", "security"]
    assert fields["ravi@example.com"]["topics"] == ["api", "pricing"]  # repeated names are a list
    assert fields["ravi@example.com"]["name"] == "Ravi Kumar"
    assert "message" not in fields["meera@example.com"]  # files are ignored
    assert fields["nila@example.com"]["name"] == "Nila Sen"
    assert fields["om@example.com"]["name"] == "Om Pal"  # a POST without a body carries the lead in its query


async def test_a_repeated_lead_is_answered_200_with_the_same_answer_and_stays_one_lead(
    database_url: str, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        await add_endpoint(client, tenant, receiver.url)
        source = await _source(client, tenant, form, kind="generic", auth={"type": "url"}, id_field="enquiry.id")
        lead = {"enquiry": {"id": 9001}, **ASHA}
        first = await client.post(_hook(source), json=lead)
        again = await client.post(_hook(source), json=lead)
        changed = await client.post(_hook(source), json={**lead, "name": "Asha R."})  # same id: the same lead
        no_id = {"name": "Bala Iyer", "email": "bala@example.com"}
        hashed = await client.post(_hook(source), json=no_id)
        hashed_again = await client.post(_hook(source), json=no_id)
        # Another id with the very same values: stored as a duplicate of the first, and said so.
        same_person = await client.post(_hook(source), json={**lead, "enquiry": {"id": 9002}})
        same_person_again = await client.post(_hook(source), json={**lead, "enquiry": {"id": 9002}})
        await receiver.wait_for(2)
        await asyncio.sleep(0.5)

    for answer in (first, again, changed, hashed, hashed_again, same_person, same_person_again):
        assert answer.status_code == 200, answer.text
    assert again.content == changed.content == first.content
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == changed.headers["idempotent-replayed"] == "true"
    assert hashed_again.content == hashed.content
    assert first.json()["leads"][0]["duplicate"] is False
    assert same_person.json()["leads"][0]["duplicate"] is True
    assert same_person_again.content == same_person.content  # a replay says what the first answer said
    assert await _count(db) == 3
    assert len(receiver.requests) == 2


AUTHS: dict[str, dict[str, Any]] = {
    "header": {"type": "header", "name": "X-Api-Key", "value": "k3y-for-the-portal"},
    "query": {"type": "query", "name": "key", "value": "k3y-for-the-portal"},
    "body": {"type": "body", "name": "api_key", "value": "k3y-for-the-portal"},
    "basic": {"type": "basic", "username": "portal", "value": "k3y-for-the-portal"},
}


def _sent_with(kind: str, key: str, lead: dict[str, Any]) -> dict[str, Any]:
    """httpx arguments for a JSON post of ``lead`` carrying ``key`` the way ``kind`` reads it."""
    if kind == "header":
        return {"json": lead, "headers": {"X-Api-Key": key}}
    if kind == "query":
        return {"json": lead, "params": {"key": key}}
    if kind == "body":
        return {"json": {**lead, "api_key": key}}
    return {"json": lead, "auth": ("portal", key)}


class _Logged(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def _logged(name: str) -> Iterator[list[str]]:
    """What ``name`` logs meanwhile (the app's logging set-up replaces the root's handlers, so caplog misses it)."""
    handler, logger = _Logged(), logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize("kind", AUTHS)
async def test_each_shared_key_is_checked_and_a_wrong_or_missing_one_is_401(
    database_url: str, tenant: Tenant, db: Database, kind: str
) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        source = await _source(client, tenant, form, kind="generic", auth=AUTHS[kind])
        hook = _hook(source)
        with _logged("leadwire.sources") as logged:
            right = await client.post(hook, **_sent_with(kind, "k3y-for-the-portal", ASHA))
            wrong = await client.post(
                hook, **_sent_with(kind, "k3y-for-the-portaL", {**ASHA, "email": "w@example.com"})
            )
            missing = await client.post(hook, json={**ASHA, "email": "m@example.com"})
        listed = (await client.get(f"/api/v1/sources/{source['id']}", headers=tenant.headers)).json()

    assert source["secrets"]["auth_secret"] == "k3y-for-the-portal"
    assert right.status_code == 200, right.text
    assert _is_problem(wrong, 401)
    assert _is_problem(missing, 401)
    assert await _count(db) == 1
    assert len(logged) == 2
    assert all(source["id"] in line and "k3y-for-the-porta" not in line for line in logged)
    assert "secrets" not in listed
    assert listed["auth"]["type"] == kind


async def test_keys_in_the_query_or_form_fields_and_basic_auth_edge_cases(database_url: str, tenant: Tenant) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        query = await _source(client, tenant, form, kind="generic", auth=AUTHS["query"])
        body = await _source(client, tenant, form, kind="generic", auth=AUTHS["body"])
        basic = await _source(client, tenant, form, kind="generic", auth={"type": "basic", "value": "pa55-w0rd-x"})
        by_get = await client.get(_hook(query), params={**ASHA, "key": "k3y-for-the-portal"})
        twice = await client.get(_hook(query) + "?key=k3y-for-the-portal&key=k3y-for-the-portal", params=ASHA)
        form_field = await client.post(
            _hook(body), data={**ASHA, "email": "f@example.com", "api_key": "k3y-for-the-portal"}
        )
        not_text = await client.post(_hook(body), json={**ASHA, "api_key": ["k3y-for-the-portal"]})
        in_array = await client.post(
            _hook(body), json=[{**ASHA, "email": "a1@example.com", "api_key": "k3y-for-the-portal"}, ASHA]
        )
        default_user = await client.post(_hook(basic), json=ASHA, auth=("leadwire", "pa55-w0rd-x"))
        wrong_user = await client.post(_hook(basic), json=ASHA, auth=("admin", "pa55-w0rd-x"))
        garbage = await client.post(_hook(basic), json=ASHA, headers={"Authorization": "Basic !!!not-base64"})
        no_colon = await client.post(
            _hook(basic), json=ASHA, headers={"Authorization": "Basic " + base64.b64encode(b"pa55-w0rd-x").decode()}
        )

    assert by_get.status_code == form_field.status_code == default_user.status_code == 200
    assert basic["secrets"]["auth_username"] == "leadwire"
    for refused in (twice, not_text, in_array, wrong_user, garbage, no_colon):
        assert _is_problem(refused, 401), refused.text
    assert wrong_user.headers["www-authenticate"].startswith("Basic")


def _hmac(key: str, body: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(key.encode(), body, getattr(hashlib, algorithm)).digest()


HMAC_CASES: dict[str, tuple[dict[str, Any], Any]] = {
    # name: (the source's auth, how the sender writes the signature of a body)
    "GitHub hex with sha256=": (
        {"name": "X-Hub-Signature-256", "encoding": "hex", "prefix": "sha256="},
        lambda key, body: "sha256=" + _hmac(key, body).hex(),
    ),
    "uppercase hex": ({"name": "X-Signature", "encoding": "hex"}, lambda key, body: _hmac(key, body).hex().upper()),
    "Typeform base64 with sha256=": (
        {"name": "Typeform-Signature", "encoding": "base64", "prefix": "sha256="},
        lambda key, body: "sha256=" + base64.b64encode(_hmac(key, body)).decode(),
    ),
    "bare base64, SHA-512": (
        {"name": "X-Signature", "encoding": "base64", "algorithm": "sha512"},
        lambda key, body: base64.b64encode(_hmac(key, body, "sha512")).decode(),
    ),
    "SHA-1 hex": (
        {"name": "X-Signature", "encoding": "hex", "algorithm": "sha1", "prefix": "sha1="},
        lambda key, body: "sha1=" + _hmac(key, body, "sha1").hex(),
    ),
    "several, comma separated": (
        {"name": "X-Signature", "encoding": "hex", "prefix": "sha256="},
        lambda key, body: "sha256=" + "0" * 64 + ", sha256=" + _hmac(key, body).hex(),
    ),
    "several, space separated": (
        {"name": "X-Signature", "encoding": "base64"},
        lambda key, body: (
            base64.b64encode(_hmac("old-secret", body)).decode() + " " + base64.b64encode(_hmac(key, body)).decode()
        ),
    ),
}


@pytest.mark.parametrize("case", HMAC_CASES)
async def test_an_hmac_of_the_raw_body_is_checked_in_each_encoding(
    database_url: str, tenant: Tenant, db: Database, case: str
) -> None:
    auth, signature = HMAC_CASES[case]
    key = "hmac-secret-of-the-sender"
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        source = await _source(client, tenant, form, kind="generic", auth={"type": "hmac", "value": key, **auth})
        hook, header = _hook(source), auth["name"]
        body = json.dumps({"form_response": {"token": "tf-1"}, **ASHA}).encode()
        as_json = {"content-type": "application/json"}
        right = await client.post(hook, content=body, headers={**as_json, header: signature(key, body)})
        tampered = await client.post(
            hook, content=body.replace(b"Asha", b"Eve!"), headers={**as_json, header: signature(key, body)}
        )
        other_key = await client.post(hook, content=body, headers={**as_json, header: signature("another-key", body)})
        unsigned = await client.post(hook, content=body, headers=as_json)
        bad_base64 = await client.post(hook, content=body, headers={**as_json, header: "sha256=***not base64***"})
        by_get = await client.get(hook, params=ASHA, headers={header: signature(key, b"")})

    assert right.status_code == 200, right.text
    for refused in (tampered, other_key, unsigned, bad_base64, by_get):
        assert _is_problem(refused, 401), refused.text
    assert await _count(db) == 1


async def test_a_key_sent_in_the_query_or_the_body_is_never_stored(
    database_url: str, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    key = "s3cret-portal-key-77"
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        endpoint = await add_endpoint(client, tenant, receiver.url)
        # Even a mapping that sends the key's own field into the form cannot store it: it is removed first.
        in_body = await _source(
            client,
            tenant,
            form,
            kind="generic",
            auth={"type": "body", "name": "api_key", "value": key},
            mapping={"api_key": "message"},
        )
        in_query = await _source(
            client,
            tenant,
            form,
            kind="generic",
            auth={"type": "query", "name": "token", "value": key},
            mapping={"token": "message"},
        )
        posted = await client.post(_hook(in_body), json={**ASHA, "api_key": key})
        form_post = await client.post(_hook(in_body), data={**ASHA, "email": "f@example.com", "api_key": key})
        queried = await client.get(_hook(in_query), params={**ASHA, "email": "q@example.com", "token": key})
        await receiver.wait_for(3)
        await asyncio.sleep(0.3)

    assert [posted.status_code, form_post.status_code, queried.status_code] == [200, 200, 200]
    assert all("message" not in s.fields for s in (await _submissions(db)).values())
    assert all(key.encode() not in body for _, body in receiver.requests)
    assert len(_events(endpoint, receiver)) == 3
    stored: list[str] = []
    async with db.session(write=False) as session:
        for table in Base.metadata.sorted_tables:  # raw rows: the sources' secrets column is only ciphertext
            rows: Result[Any] = await session.execute(select(literal_column("*")).select_from(table))
            stored += [str(tuple(row)) for row in rows]
    assert stored
    assert not [row for row in stored if key in row]


async def test_a_disabled_source_refuses_with_403_until_enabled(
    database_url: str, tenant: Tenant, db: Database
) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        source = await _source(client, tenant, form, kind="generic", auth={"type": "url"})
        url = f"/api/v1/sources/{source['id']}"
        await client.patch(url, json={"enabled": False}, headers=tenant.headers)
        refused = await client.post(_hook(source), json=ASHA)
        refused_get = await client.get(_hook(source), params=ASHA)
        await client.patch(url, json={"enabled": True}, headers=tenant.headers)
        taken = await client.post(_hook(source), json=ASHA)

    for answer in (refused, refused_get):
        assert _is_problem(answer, 403)
        assert "disabled" in answer.json()["detail"]
    assert taken.status_code == 200
    assert await _count(db) == 1


async def test_leads_the_form_refuses_are_422_and_a_partly_refused_batch_is_207(
    database_url: str, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        await add_endpoint(client, tenant, receiver.url)
        source = await _source(client, tenant, form, kind="generic", auth={"type": "url"}, id_field="id")
        hook = _hook(source)
        one_bad = await client.post(hook, json={"id": "x1", "name": "No Email"})
        batch = [
            {"id": "b1", **ASHA},
            {"id": "b2", "name": "No Email", "seats": "many"},
            {"id": "b3", "name": "Chen Wu", "email": "chen@example.com"},
        ]
        partly = await client.post(hook, json=batch)
        partly_again = await client.post(hook, json=batch)
        all_bad = await client.post(hook, json=[{"id": "c1", "name": "A"}, {"id": "c2", "email": "not-an-email"}])
        too_many = await client.post(hook, json=[{"id": str(i), **ASHA} for i in range(101)])
        not_objects = await client.post(hook, json=[{"id": "d1", **ASHA}, "just text"])
        scalar = await client.post(hook, json="just text")
        empty = await client.post(hook, json=[])
        await receiver.wait_for(2)
        await asyncio.sleep(0.3)

    assert _is_problem(one_bad, 422)
    assert {e["field"] for e in one_bad.json()["errors"]} == {"email"}
    assert partly.status_code == 207, partly.text
    leads = partly.json()["leads"]
    assert [("submission_id" in lead, "errors" in lead) for lead in leads] == [
        (True, False),
        (False, True),
        (True, False),
    ]
    assert {e["field"] for e in leads[1]["errors"]} == {"email", "seats"}
    assert partly_again.status_code == 207
    assert partly_again.content == partly.content
    assert _is_problem(all_bad, 422)
    assert {e["field"] for e in all_bad.json()["errors"]} == {"[0].email", "[1].email", "[1].name"}
    assert _is_problem(too_many, 413)
    for unreadable in (not_objects, scalar, empty):
        assert _is_problem(unreadable, 400), unreadable.text
    assert await _count(db) == 2
    assert len(receiver.requests) == 2


async def test_form_fields_are_read_in_their_declared_charset_or_latin_1(
    database_url: str, tenant: Tenant, receiver: Receiver
) -> None:
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        endpoint = await add_endpoint(client, tenant, receiver.url)
        source = await _source(client, tenant, form, kind="generic", auth={"type": "url"})
        hook, form_type = _hook(source), "application/x-www-form-urlencoded"

        async def post(body: bytes, content_type: str) -> httpx.Response:
            return await client.post(hook, content=body, headers={"content-type": content_type})

        declared = await post(b"name=Jos%E9+Mart%EDn&email=jose%40example.com", f"{form_type}; charset=ISO-8859-1")
        undeclared = await post(b"name=Fran%E7ois&email=francois%40example.com", form_type)
        utf8 = await post("name=Zoë Ölçer&email=zoe@example.com".encode(), f"{form_type}; charset=utf-8")
        json_latin1 = await post(
            '{"name": "Renée", "email": "renee@example.com"}'.encode("latin-1"), "application/json; charset=iso-8859-1"
        )
        query_latin1 = await client.get(hook + "?name=Andr%E9&email=andre%40example.com")
        not_utf8 = await post(b"name=Jos%E9&email=x%40example.com", f"{form_type}; charset=utf-8")
        unknown = await post(b"name=a&email=a%40example.com", f"{form_type}; charset=x-klingon")
        json_not_utf8 = await post(b'{"name": "Ren\xe9e", "email": "r@example.com"}', "application/json")
        await receiver.wait_for(5)
        await asyncio.sleep(0.3)

    for taken in (declared, undeclared, utf8, json_latin1, query_latin1):
        assert taken.status_code == 200, taken.text
    for refused in (not_utf8, unknown, json_not_utf8):
        assert _is_problem(refused, 400), refused.text
    names = {e["data"]["submission"]["fields"]["name"] for e in _events(endpoint, receiver)}
    assert names == {"José Martín", "François", "Zoë Ölçer", "Renée", "André"}


async def test_each_lead_of_a_push_and_each_refused_push_is_noted_in_the_sources_activity(
    database_url: str, tenant: Tenant
) -> None:
    key = "k3y-in-the-body-0123"
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant)
        source = await _source(
            client, tenant, form, kind="generic", auth={"type": "body", "name": "api_key", "value": key}, id_field="id"
        )
        hook = _hook(source)
        batch = [{"id": "a1", **ASHA, "api_key": key}, {"id": "a2", "name": "No Email", "api_key": key}]
        partly = await client.post(hook, json=batch)
        wrong = await client.post(hook, json={"id": "a3", **ASHA, "api_key": "not-the-key-at-all"})
        await client.patch(f"/api/v1/sources/{source['id']}", json={"enabled": False}, headers=tenant.headers)
        disabled = await client.post(hook, json={"id": "a4", **ASHA, "api_key": key})
        counts = await settled(client, tenant, source, received=4)
        items = await payloads(client, tenant, source)
        listing = (await client.get(f"/api/v1/sources/{source['id']}/payloads", headers=tenant.headers)).text

    assert (partly.status_code, wrong.status_code, disabled.status_code) == (207, 401, 403)
    assert {k: counts[k] for k in ("received", "accepted", "rejected")} == {"received": 4, "accepted": 1, "rejected": 3}
    assert counts["rejected_by_reason"] == {"invalid": 1, "unauthorized": 1, "disabled": 1}
    newest_first = [(item["outcome"], item["reason"]) for item in items]
    assert newest_first == [
        ("rejected", "disabled"),
        ("rejected", "unauthorized"),
        ("rejected", "invalid"),
        ("accepted", None),
    ]
    refused_lead, stored_lead = items[2], items[3]
    # Each lead of a batch is a payload of its own: its document, without the key it carried.
    assert stored_lead["body"] == {"id": "a1", **ASHA}
    assert stored_lead["submission_id"] == partly.json()["leads"][0]["submission_id"]
    assert refused_lead["body"] == {"id": "a2", "name": "No Email"}
    assert {p["field"] for p in refused_lead["problems"]} == {"email"}
    assert key not in listing


async def test_a_preset_pushed_through_the_hook_is_answered_as_its_sender_expects(
    database_url: str, tenant: Tenant, receiver: Receiver, db: Database
) -> None:
    """JustDial's documented push (tests/ingest/test_preset_justdial.py) by GET, as JustDial sends it: the answer is
    the word its integrations answer, ``RECEIVED``, the first time and when JustDial sends the lead again."""
    async with serve(make_settings(database_url, **SOURCE_SETTINGS)) as client:
        form = await create_form(client, tenant, **LEAD_FORM)
        endpoint = await add_endpoint(client, tenant, receiver.url)
        source = await _source(client, tenant, form, kind="justdial")
        pushed = await client.get(_hook(source) + "?" + JUSTDIAL_QUERY)
        again = await client.post(
            _hook(source), content=JUSTDIAL_QUERY, headers={"content-type": "application/x-www-form-urlencoded"}
        )
        refused = await client.get(_hook(source) + "?leadid=x1&mobile=9876543210")  # no name: the form refuses it
        await receiver.wait_for(1)
        await asyncio.sleep(0.3)

    assert (pushed.status_code, pushed.text, pushed.headers["content-type"]) == (
        200,
        "RECEIVED",
        "text/plain; charset=utf-8",
    )
    assert (again.status_code, again.text, again.headers["idempotent-replayed"]) == (200, "RECEIVED", "true")
    assert _is_problem(refused, 422)
    assert await _count(db) == 1
    [event] = _events(endpoint, receiver)
    assert event["data"]["submission"]["fields"]["phone"] == "+919876543210"
    assert event["data"]["submission"]["source"] == "justdial"
