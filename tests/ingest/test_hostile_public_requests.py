"""Hostile requests on every public route, found in the app's own route table: always an answer (a 4xx problem, or
the page a prospect's route answers with), never a 500 and never a logged traceback."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import MediaType
from litestar.datastructures import Headers
from litestar.handlers import HTTPRouteHandler

from app import create_app
from consent.tokens import confirmation_token, receipt_token
from core.errors import BadRequest, Unauthorized
from delivery.signing import new_secret, sign
from ingest.sources.kinds import google_ads_lead, standard_webhooks_lead
from ingest.sources.models import Source
from tests.conftest import make_settings
from tests.ingest.conftest import INGEST, create_form, serve, valid
from tests.workspaces.test_every_admin_route import _PARAM

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    import httpx

    from core.settings import Settings
    from tests.conftest import Tenant

_SOURCES: dict[str, dict[str, Any]] = {
    "standard_webhooks": {"kind": "standard_webhooks"},
    "google_ads": {"kind": "google_ads"},
    "meta_lead_ads": {"kind": "meta_lead_ads", "meta_app_secret": "app-secret-123", "meta_page_access_token": "t" * 12},
    "generic": {"kind": "generic", "auth": {"type": "url"}, "consent_purposes": ["sales_contact"]},
    "generic_hmac": {
        "kind": "generic",
        "auth": {"type": "hmac", "name": "X-Signature", "value": "hmac-secret-123", "encoding": "base64"},
    },
    "generic_basic": {"kind": "generic", "auth": {"type": "basic", "value": "basic-secret-123"}},
}
"""One source of each way a push is read: the generic ones take whatever their sender sends (the URL alone
lets every body through to the reading, and a body with a name and an email through to storage), or check an
HMAC of it, or HTTP Basic."""
_PAGE_PREFIXES = ("/console",)
"""Routes that answer people with pages (the console's own sign-in and error pages) rather than problems."""
_FALLBACK_ID = "x_00000000000000000000000000"


def _public_routes() -> list[tuple[str, str, bool]]:
    """Every route that takes a body without an API key: method, path, and whether it answers with HTML pages."""
    app = create_app(make_settings("sqlite+aiosqlite:///unused-route-listing.db"))
    routes: list[tuple[str, str, bool]] = []
    for route in app.routes:
        if route.path.startswith(("/api/", "/schema")):
            continue
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            pages = handler.media_type == MediaType.HTML or route.path.startswith(_PAGE_PREFIXES)
            routes.extend(
                (method, route.path, pages)
                for method in sorted(handler.http_methods)
                if method not in {"GET", "HEAD", "OPTIONS"}
            )
    return routes


PUBLIC_ROUTES = _public_routes()
_SOME_TIME = str(int(time.time()))
_WEBHOOK = {"webhook-id": "evt_hostile", "webhook-signature": "v1,AAAA", "content-type": "application/json"}
HOSTILE: dict[str, tuple[bytes, dict[str, Any]]] = {
    "deep nesting": (b"[" * 30_000 + b"]" * 30_000, {"content-type": "application/json"}),
    "deep object": (b'{"":' * 12_000 + b"1" + b"}" * 12_000, {"content-type": "application/json"}),
    "deep value": (
        b'{"google_key": "k", "lead_id": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
        {"content-type": "application/json"},
    ),
    "invalid UTF-8": (b'{"name": "\xff\xfe", "email": "\xc3("}', {"content-type": "application/json"}),
    "NUL bytes": (b'{"name": "a\\u0000b", "google_key": "\\u0000"}', {"content-type": "application/json"}),
    "raw NUL": (b'{"name": "a\x00b"}\x00', {"content-type": "application/json"}),
    "NUL in a form": (
        b"name=a%00b&purpose=marketing%00&key=\x00",
        {"content-type": "application/x-www-form-urlencoded"},
    ),
    "2 MB": (json.dumps({"name": "x" * 2_000_000}).encode(), {"content-type": "application/json"}),
    "huge number": (b'{"google_key": ' + b"9" * 5_000 + b', "lead_id": 1}', {"content-type": "application/json"}),
    "XML": (b"<lead><name>a</name></lead>", {"content-type": "application/xml"}),
    "text": (b"name=a", {"content-type": "text/plain"}),
    "no content type": (b'{"name": "a"}', {}),
    "multipart without boundary": (b"--x\r\nbroken", {"content-type": "multipart/form-data"}),
    "400-digit timestamp": (b"{}", {**_WEBHOOK, "webhook-timestamp": "9" * 400}),
    "5,000-digit timestamp": (b"{}", {**_WEBHOOK, "webhook-timestamp": "1" * 5_000}),
    "superscript-digit timestamp": (b"{}", {**_WEBHOOK, "webhook-timestamp": b"\xb2\xb3\xb9" * 3 + b"1"}),
    "non-ASCII timestamp": (b"{}", {**_WEBHOOK, "webhook-timestamp": _SOME_TIME.encode() + b"\xff"}),
    "signed timestamp": (b"{}", {**_WEBHOOK, "webhook-timestamp": "+" + _SOME_TIME}),
    "fractional timestamp": (b"{}", {**_WEBHOOK, "webhook-timestamp": _SOME_TIME + ".5"}),
    "non-ASCII signature": (b"{}", {**_WEBHOOK, "webhook-timestamp": _SOME_TIME, "webhook-signature": b"v1,\xff"}),
    "non-ASCII Meta signature": (b"{}", {"content-type": "application/json", "x-hub-signature-256": b"sha256=\xe9"}),
}


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def errors_logged() -> Iterator[list[str]]:
    """What the app logs at ERROR (an unhandled exception is logged with its traceback) while the test runs."""
    handler = _Errors()
    logger = logging.getLogger("leadwire")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def public_settings(database_url: str) -> Settings:
    # No worker, and Meta's Graph API replaced by a closed port of 127.0.0.1: nothing leaves the machine.
    return make_settings(
        database_url, **{**INGEST, "run_worker": "false", "meta_graph_base_url": "http://127.0.0.1:9/v21.0"}
    )


@pytest.fixture
async def public_client(public_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a socket of 127.0.0.1: header bytes arrive as sent (the in-process client re-encodes them)."""
    async with serve(public_settings) as client:
        yield client


async def _things_of(client: httpx.AsyncClient, tenant: Tenant, settings: Settings) -> dict[str, Any]:
    """A published form, one source of each kind (with its secrets), and the links of one submission."""
    form = await create_form(client, tenant)
    sources: dict[str, dict[str, Any]] = {}
    for name, body in _SOURCES.items():
        response = await client.post("/api/v1/sources", json={**body, "form_id": form["id"]}, headers=tenant.headers)
        assert response.status_code == 201, response.text
        sources[name] = response.json()
    assert (await client.post(f"/f/{form['slug']}", json=valid())).status_code == 201
    submission = (await client.get("/api/v1/submissions", headers=tenant.headers)).json()["items"][0]
    return {
        "form_id": form["id"],
        "slug": form["slug"],
        "sources": sources,
        "receipt": receipt_token(settings, submission["id"]),
        "confirmation": confirmation_token(settings, submission["id"]),
    }


def _targets(things: dict[str, Any]) -> list[tuple[str, str, bool, str, dict[str, Any] | None]]:
    """Each public route with its parameters filled in: method, path, pages, URL, and the source when a hook (a
    hook is tried once for each kind of source, as each kind reads its requests its own way)."""
    targets: list[tuple[str, str, bool, str, dict[str, Any] | None]] = []
    for method, path, pages in PUBLIC_ROUTES:

        def value(name: str, path: str = path) -> str:
            if name == "token":
                return str(things["confirmation" if path.startswith("/confirm/") else "receipt"])
            return str(things.get(name, _FALLBACK_ID))

        if "{source_id:str}" in path:
            targets.extend(
                (method, path, pages, path.replace("{source_id:str}", source["id"]), source)
                for source in things["sources"].values()
            )
        else:
            targets.append((method, path, pages, _PARAM.sub(lambda match: value(match.group(1)), path), None))
    return targets


def _signed(source: dict[str, Any], body: bytes, headers: dict[str, Any]) -> dict[str, Any] | None:
    """``headers`` with the source's own signature of ``body``, for the kinds whose signature is a header."""
    if source["kind"] == "standard_webhooks":
        now = int(time.time())
        signature = sign(source["secrets"]["whsec"], "evt_signed", now, body)
        return {**headers, "webhook-id": "evt_signed", "webhook-timestamp": str(now), "webhook-signature": signature}
    if source["kind"] == "meta_lead_ads":
        digest = hmac.new(b"app-secret-123", body, hashlib.sha256).hexdigest()
        return {**headers, "x-hub-signature-256": f"sha256={digest}"}
    if (source["auth"] or {}).get("type") == "hmac":
        mac = hmac.new(b"hmac-secret-123", body, hashlib.sha256).digest()
        return {**headers, "x-signature": base64.b64encode(mac).decode()}
    if (source["auth"] or {}).get("type") == "basic":
        return {**headers, "authorization": "Basic " + base64.b64encode(b"leadwire:basic-secret-123").decode()}
    return None


def test_the_public_routes_were_found() -> None:
    found = {(method, path) for method, path, _ in PUBLIC_ROUTES}
    assert {
        ("POST", "/f/{slug:str}"),
        ("POST", "/hooks/{source_id:str}"),
        ("POST", "/c/{token:str}/withdraw"),
        ("POST", "/confirm/{token:str}"),
        ("POST", "/console/sign-in"),
    } <= found


@pytest.mark.parametrize("case", HOSTILE)
async def test_hostile_requests_on_every_public_route_are_4xx_never_500(
    public_client: httpx.AsyncClient, public_settings: Settings, tenant: Tenant, errors_logged: list[str], case: str
) -> None:
    content, headers = HOSTILE[case]
    things = await _things_of(public_client, tenant, public_settings)
    failures: list[str] = []
    for method, path, pages, url, source in _targets(things):
        attempts = [headers]
        if source is not None and (signed := _signed(source, content, headers)) is not None:
            attempts.append(signed)  # past the signature check: the body is read by the source's own parser
        for attempt in attempts:
            response = await public_client.request(method, url, content=content, headers=attempt)
            status, kind = response.status_code, response.headers.get("content-type", "")
            how = "signed" if attempt is not headers else "as is"
            where = f"{method} {url} ({source['kind'] if source else path}, {how})"
            if status >= 500:
                failures.append(f"{where}: {status} {response.text[:200]}")
            elif status < 400 and attempt is headers and not path.startswith(_PAGE_PREFIXES):
                # Nothing hostile is accepted as it comes (the console sends people without a session to sign in).
                failures.append(f"{where}: {status}, not refused")
            elif status >= 400:
                # A browser's post to the submit endpoint gets the form back with its errors (documented).
                html_ok = pages or (path == "/f/{slug:str}" and status == 422)
                if not (kind.startswith("application/problem+json") or (html_ok and kind.startswith("text/html"))):
                    failures.append(f"{where}: {status} answered with {kind!r}")

    assert failures == [], "\n".join(failures)
    assert errors_logged == []


async def test_the_three_reported_hook_requests_are_refused_with_a_problem(
    public_client: httpx.AsyncClient, public_settings: Settings, tenant: Tenant, errors_logged: list[str]
) -> None:
    things = await _things_of(public_client, tenant, public_settings)
    google = "/hooks/" + things["sources"]["google_ads"]["id"]
    standard = "/hooks/" + things["sources"]["standard_webhooks"]["id"]

    nested = await public_client.post(google, content=b"[" * 30_000, headers={"content-type": "application/json"})
    hostile: list[dict[str, Any]] = [{**_WEBHOOK, "webhook-timestamp": t} for t in ("9" * 400, "9" * 5_000, b"17\xb2")]
    timestamps = [await public_client.post(standard, content=b"{}", headers=headers) for headers in hostile]
    answers = [nested, *timestamps]

    assert [a.status_code for a in answers] == [400, 401, 401, 401], [a.text for a in answers]
    for answer in answers:
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert "webhook-timestamp" in answers[1].json()["detail"]
    assert errors_logged == []


def _source(kind: str, **secrets: str) -> Source:
    return Source(id="s_1", kind=kind, secrets=secrets, mapping={}, consent_purposes=[])


_LATIN_1 = st.text(st.characters(max_codepoint=255), max_size=40)
"""What a header value can be: the server reads header bytes as latin-1."""


@given(timestamp=_LATIN_1 | st.integers(min_value=-(10**500), max_value=10**500).map(str))
def test_any_webhook_timestamp_is_accepted_or_refused_as_unauthorized(timestamp: str) -> None:
    secret = new_secret()
    body = b'{"data": {"email": "a@example.com"}}'
    now = int(time.time())
    headers = Headers(
        {"webhook-id": "evt_1", "webhook-timestamp": timestamp, "webhook-signature": sign(secret, "evt_1", now, body)}
    )

    try:
        lead = standard_webhooks_lead(_source("standard_webhooks", whsec=secret), headers, body)
    except Unauthorized:
        return
    assert re.fullmatch("[0-9]+", timestamp)  # only the signed time, in ASCII digits, gets through
    assert int(timestamp) == now
    assert lead.values == {"email": "a@example.com"}


@given(body=st.binary(max_size=200) | st.integers(min_value=1, max_value=40_000).map(lambda n: b"[" * n + b"]" * n))
def test_any_google_ads_body_is_read_or_refused_as_a_client_error(body: bytes) -> None:
    with contextlib.suppress(BadRequest, Unauthorized):  # anything else fails the test
        google_ads_lead(_source("google_ads", google_key="k3y-from-google-ads"), body)


HOSTILE_QUERIES: dict[str, bytes] = {
    "bytes that are no charset's": b"name=%ff%fe%00&email=%c3(%80",
    "too many fields": b"&".join(b"f%d=1" % i for i in range(1_000)),
    "a long value": b"name=" + b"x" * 6_000 + b"&email=a%40example.com",
    "brackets and dots": b"a[0].b[=1&%5B%5D=2&..=3&email[]=a%40example.com",
    "only separators": b"&&&&===&&",
}


@pytest.mark.parametrize("case", HOSTILE_QUERIES)
async def test_hostile_query_strings_on_a_generic_sources_get_are_4xx_never_500(
    public_client: httpx.AsyncClient, public_settings: Settings, tenant: Tenant, errors_logged: list[str], case: str
) -> None:
    things = await _things_of(public_client, tenant, public_settings)
    answers = {}
    for name, source in things["sources"].items():
        if source["kind"] == "generic":
            answers[name] = await public_client.get(f"/hooks/{source['id']}?{HOSTILE_QUERIES[case].decode('latin-1')}")

    fine = await public_client.get(
        f"/hooks/{things['sources']['generic']['id']}", params={"name": "Asha Rao", "email": "asha@example.com"}
    )

    assert fine.status_code == 200, fine.text  # the same route takes a lead that is not hostile
    for name, answer in answers.items():
        assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text[:200])
        assert answer.headers["content-type"].startswith("application/problem+json"), name
    assert errors_logged == []
