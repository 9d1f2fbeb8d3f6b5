"""Answers travel compressed: brotli when the client asks for it, else gzip; small answers, and the console's pages,
as they are."""

from __future__ import annotations

import gzip
import re
from typing import TYPE_CHECKING, Any

import brotli
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar, Response, get
from litestar.response import Stream
from litestar.testing import AsyncTestClient

from tests.ingest.conftest import create_form

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

    from tests.conftest import Client, Tenant

_TOKEN = re.compile(rb'name="_t" value="[^"]*"')
"""The hosted page's render token carries the time it was made: two requests do not give the same one."""


async def fetch(
    client: Client, method: str, path: str, accept_encoding: str | None, **kwargs: Any
) -> tuple[httpx.Response, bytes]:
    """The answer and the bytes as they came, undecoded; ``None`` sends no Accept-Encoding at all."""
    request = client.build_request(method, path, **kwargs)
    if accept_encoding is None:
        del request.headers["accept-encoding"]
    else:
        request.headers["accept-encoding"] = accept_encoding
    response = await client.send(request, stream=True)
    try:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    finally:
        await response.aclose()
    return response, raw


def decoded(response: httpx.Response, raw: bytes) -> bytes:
    encoding = response.headers.get("content-encoding")
    if encoding == "gzip":
        return gzip.decompress(raw)
    if encoding == "br":
        body: bytes = brotli.decompress(raw)
        return body
    assert encoding is None, encoding
    return raw


async def _answers(client: Client, tenant: Tenant) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """One of each kind of answer worth compressing: HTML, a failed post's HTML, JS, JSON and problem+json."""
    form = await create_form(client, tenant)
    bad = [{"name": f"_f{i}", "type": "text"} for i in range(30)]  # 30 reserved names: 30 errors
    return {
        "page": ("GET", f"/f/{form['slug']}", {}),
        "failed post": ("POST", f"/f/{form['slug']}", {"data": {"email": "not an address"}}),
        "embed.js": ("GET", "/embed.js", {}),
        "JSON": ("GET", "/api/v1/forms", {"headers": tenant.headers}),
        "problem+json": ("POST", "/api/v1/forms", {"headers": tenant.headers, "json": {"name": "x", "fields": bad}}),
        "metrics": ("GET", "/metrics", {}),
    }


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [(None, None), ("identity", None), ("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br, zstd", "br")],
)
async def test_pages_scripts_and_json_travel_compressed_and_decode_to_the_same_body(
    client: Client, tenant: Tenant, accept_encoding: str | None, expected: str | None
) -> None:
    for kind, (method, path, kwargs) in (await _answers(client, tenant)).items():
        plain, plain_raw = await fetch(client, method, path, None, **kwargs)
        response, raw = await fetch(client, method, path, accept_encoding, **kwargs)

        assert "content-encoding" not in plain.headers, kind
        assert len(plain_raw) > 1_024, kind
        status = 422 if kind in {"failed post", "problem+json"} else 200
        assert (plain.status_code, response.status_code) == (status, status), kind
        assert response.headers.get("content-encoding") == expected, kind
        assert "accept-encoding" in response.headers.get("vary", "").lower(), kind
        body = decoded(response, raw)
        assert _TOKEN.sub(b"", body) == _TOKEN.sub(b"", plain_raw), kind
        if expected is not None:
            assert len(raw) < len(plain_raw) / 2, kind
            assert int(response.headers["content-length"]) == len(raw), kind


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        ("br;q=0, gzip", "gzip"),
        ("gzip;q=0", None),
        ("GZIP;Q=0.5, br;q=0.4", "gzip"),
        ("*", "br"),
        ("*;q=0, gzip;q=0.1", "gzip"),
        ("x-gzip, brotli", None),
        ("gzip;q=oops", None),
    ],
)
async def test_the_client_s_preferences_are_followed(
    client: Client, tenant: Tenant, accept_encoding: str, expected: str | None
) -> None:
    response, raw = await fetch(client, "GET", "/embed.js", accept_encoding)

    assert response.headers.get("content-encoding") == expected
    assert b"leadwire" in decoded(response, raw)


async def test_small_answers_travel_as_they_are(client: Client) -> None:
    response, raw = await fetch(client, "GET", "/healthz", "gzip, br")

    assert "content-encoding" not in response.headers
    assert raw == b'{"status":"ok"}'


async def test_the_console_s_pages_are_not_compressed_but_its_script_is(client: Client) -> None:
    """The console's pages carry a session's CSRF token and secrets shown once: not compressed (BREACH)."""
    page, page_raw = await fetch(client, "GET", "/console/sign-in", "gzip, br")
    script, script_raw = await fetch(client, "GET", "/console/static/console.js", "gzip, br")

    assert page.status_code == 200
    assert len(page_raw) > 1_024
    assert "content-encoding" not in page.headers
    assert script.headers.get("content-encoding") == "br"
    assert b"document" in decoded(script, script_raw)


async def test_embed_js_is_revalidated_whatever_the_encoding(client: Client) -> None:
    first, _ = await fetch(client, "GET", "/embed.js", "br")
    again, raw = await fetch(client, "GET", "/embed.js", "br", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert raw == b""
    assert "content-encoding" not in again.headers


def _small_app() -> Litestar:
    from core.compression import compression_config

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(200):
            yield b"row %d of an export, streamed\n" % index

    @get("/stream", sync_to_thread=False)
    def stream() -> Stream:
        return Stream(chunks(), media_type="text/csv")

    @get("/encoded", sync_to_thread=False)
    def encoded() -> Response[bytes]:
        body = gzip.compress(b"already compressed " * 200)
        return Response(body, headers={"Content-Encoding": "gzip"}, media_type="text/plain")

    return Litestar([stream, encoded], compression_config=compression_config())


async def test_streams_are_compressed_as_they_go() -> None:
    async with AsyncTestClient(app=_small_app()) as client:
        response, raw = await fetch(client, "GET", "/stream", "br")

    expected = b"".join(b"row %d of an export, streamed\n" % index for index in range(200))
    assert response.headers.get("content-encoding") == "br"
    assert "content-length" not in response.headers
    assert decoded(response, raw) == expected


async def test_an_answer_already_encoded_is_sent_as_it_is() -> None:
    async with AsyncTestClient(app=_small_app()) as client:
        response, raw = await fetch(client, "GET", "/encoded", "br")

    assert response.headers.get("content-encoding") == "gzip"
    assert gzip.decompress(raw) == b"already compressed " * 200


@given(st.text(max_size=200))
def test_any_accept_encoding_gives_br_gzip_or_nothing(header: str) -> None:
    from core.compression import preferred_encoding

    assert preferred_encoding(header) in {"br", "gzip", None}
