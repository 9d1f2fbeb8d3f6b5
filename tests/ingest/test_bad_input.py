"""Hostile and malformed submissions get a clear 4xx problem, never a 500; what is stored is clean."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING

import pytest
from litestar.testing import AsyncTestClient

from app import create_app
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, create_form, serve, token, valid

if TYPE_CHECKING:
    from core.settings import Settings
    from tests.conftest import Client, Tenant


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"name": "a"', "application/json", 400),
        (b"[1, 2, 3]", "application/json", 422),
        (b'{"name": {"first": "a"}}', "application/json", 422),
        (b'{"name": [[["deep"]]]}', "application/json", 422),
        (b"[" * 50_000 + b"]" * 50_000, "application/json", 413),
        (b'{"name":' + b"[" * 30_000 + b"]" * 30_000 + b"}", "application/json", 422),
        (b'{"name": "\xff\xfe"}', "application/json", 400),
        (b"name=%FF%FE&email=a", "application/x-www-form-urlencoded", 400),
        (b"name=a", "text/plain", 415),
        (b"<lead/>", "application/xml", 415),
        (b"", "", 415),
        (b"--x\r\nbroken", "multipart/form-data", 400),
        (b"x" * 70_000, "application/x-www-form-urlencoded", 413),
        ("&".join(f"f{i}=v" for i in range(10_000)).encode(), "application/x-www-form-urlencoded", 413),
        (json.dumps({f"f{i}": "v" for i in range(1_000)}).encode(), "application/json", 413),
    ],
)
async def test_malformed_bodies_get_a_4xx_problem(
    app_client: Client, tenant: Tenant, content: bytes, content_type: str, status: int
) -> None:
    form = await create_form(app_client, tenant)
    headers = {"Content-Type": content_type} if content_type else {}

    response = await app_client.post(f"/f/{form['slug']}", content=content, headers=headers)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_markup_and_control_characters_are_stored_as_plain_text(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant)
    script = '<script>alert("x")</script>'
    body = {
        "name": f"{script}\x00\x07",
        "email": "a@example.com",
        "message": "hi\r\nX-Injected: yes\x00",
        "consent": "sales_contact",
        "_t": token(ingest_settings, form["id"]),
        "_page_url": "javascript:alert(1)",
    }

    response = await app_client.post(
        f"/f/{form['slug']}", data=body, headers={"User-Agent": "Bot\x00/1.0"}, follow_redirects=False
    )

    assert response.status_code == 303
    item = (await app_client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"][0]
    assert item["fields"]["name"] == script
    assert item["fields"]["message"] == "hi\r\nX-Injected: yes"
    assert item["user_agent"] == "Bot/1.0"
    assert item["page_url"] is None  # only http(s) pages are kept


async def test_nul_bytes_in_json_values_are_stripped_not_refused(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)

    response = await app_client.post(f"/f/{form['slug']}", json=valid(name="A\u0000B"))

    assert response.status_code == 201
    assert (await app_client.get("/api/v1/leads", headers=tenant.headers)).json()["items"][0]["name"] == "AB"


async def test_the_submission_stores_a_truncated_address_and_the_user_agent(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)

    await app_client.post(f"/f/{form['slug']}", json=valid(), headers={"User-Agent": "Mozilla/5.0"})

    item = (await app_client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"][0]
    assert item["user_agent"] == "Mozilla/5.0"
    assert item["client_ip"] is None  # the test client's peer is not an address; see test_client_ip for the rest


async def test_a_client_that_hangs_up_mid_body_is_not_an_error_of_ours(
    ingest_settings: Settings, tenant: Tenant
) -> None:
    errors = _Records()
    logging.getLogger("leadwire.errors").addHandler(errors)
    try:
        async with serve(ingest_settings) as client:
            form = await create_form(client, tenant)
            port = client.base_url.port
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                f"POST /f/{form['slug']} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                'Content-Length: 1000\r\n\r\n{"name": "A'.encode()
            )
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.close()
            await asyncio.sleep(0.3)
            assert (await client.post(f"/f/{form['slug']}", json=valid())).status_code == 201
    finally:
        logging.getLogger("leadwire.errors").removeHandler(errors)
    del reader
    assert errors.messages == []


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_unparseable_urls_anywhere_are_treated_as_missing_not_as_errors_of_ours(
    app_client: Client, tenant: Tenant
) -> None:
    form = await create_form(app_client, tenant)

    response = await app_client.post(
        f"/f/{form['slug']}", json=valid(_page_url="http://[x", _referrer="http://[y"), headers={"Referer": "http://[z"}
    )
    field = await app_client.post(f"/f/{form['slug']}", json=valid(email="b@example.com", website="http://[x"))

    assert response.status_code == 201, response.text
    item = (await app_client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"][0]
    assert (item["page_url"], item["referrer"]) == (None, None)
    assert field.status_code == 422
    assert field.json()["errors"][0]["code"] == "invalid_url"


async def test_a_huge_number_is_a_field_error(app_client: Client, tenant: Tenant) -> None:
    form = await create_form(app_client, tenant)
    body = b'{"name": "A", "email": "a@example.com", "consent": ["sales_contact"], "seats": ' + b"9" * 400 + b"}"

    response = await app_client.post(f"/f/{form['slug']}", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    assert response.json()["errors"][0] == {"field": "seats", "code": "invalid_number", "message": "expected a number"}


@pytest.mark.parametrize("charset", ["latin-1", "no-such-charset"])
async def test_multipart_parts_in_another_charset_are_read_or_refused(
    app_client: Client, tenant: Tenant, charset: str
) -> None:
    form = await create_form(app_client, tenant)
    body = (
        b'--b\r\nContent-Disposition: form-data; name="name"\r\n'
        + f"Content-Type: text/plain; charset={charset}\r\n\r\n".encode()
        + b"Ren\xe9\r\n--b--\r\n"
    )

    response = await app_client.post(
        f"/f/{form['slug']}", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )

    assert response.status_code in {400, 422}, response.text  # latin-1 is read (the fields are then missing)


async def test_the_database_being_unreachable_is_a_503_not_a_500(database_url: str, tenant: Tenant) -> None:
    del database_url, tenant
    settings = make_settings("postgresql+asyncpg://nobody@127.0.0.1:1/none", **INGEST)
    async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as client:
        response = await client.post("/f/anyform00000000", json=valid())

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
