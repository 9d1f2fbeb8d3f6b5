"""Failed no-JS posts come back as the form with its errors; the embed page, embed.js and the snippet API."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
from typing import TYPE_CHECKING

from tests.ingest.conftest import create_form, token

if TYPE_CHECKING:
    import pytest

    from core.settings import Settings
    from tests.conftest import Client, Tenant

MAX_LOADER_GZIP = 3 * 1024
MAX_PAGE_BYTES = 30 * 1024


async def test_a_failed_browser_post_returns_the_form_with_values_kept_and_errors_marked(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    form = await create_form(app_client, tenant, settings={"theme_color": "#0a7d4f"})
    sent_token = token(ingest_settings, form["id"])
    body = {
        "name": "Asha <b>Rao</b>",
        "email": "not-an-email",
        "team_size": "11-50",
        "topics": ["api"],
        "consent": "marketing",
        "_t": sent_token,
        "_page_url": "https://www.example.com/pricing",
    }

    response = await app_client.post(f"/f/{form['slug']}", data=body, headers={"Accept": "text/html"})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<title>Error: Contact sales</title>" in html
    summary = re.search(r'<div class="error-summary" role="alert"[^>]*>(.*?)</div>', html, re.S)
    assert summary is not None
    assert 'tabindex="-1" autofocus' in summary.group(0)
    assert summary.group(1).index("#f-email") < summary.group(1).index("#c-sales_contact")  # page order
    assert 'value="Asha &lt;b&gt;Rao&lt;/b&gt;"' in html  # kept, and escaped
    assert re.search(r'id="f-email" name="email" value="not-an-email"[^>]*aria-describedby="f-email-error"', html)
    assert re.search(r'id="f-email"[^>]*aria-invalid="true"', html)
    assert '<p class="error-message" id="f-email-error"><span class="vh">Error:</span>' in html
    assert '<option value="11-50" selected>' in html
    assert re.search(r'name="topics" value="api" checked', html)
    assert re.search(r'id="c-marketing" name="consent" value="marketing" checked', html)
    assert re.search(r'id="c-sales_contact" name="consent" value="sales_contact" required aria-invalid="true"', html)
    assert 'name="_page_url" value="https://www.example.com/pricing"' in html
    assert f'name="_t" value="{sent_token}"' in html  # the time trap still counts from the first view
    assert "--accent:#0a7d4f" in html


async def test_the_plain_page_cannot_be_framed_and_the_embed_page_only_by_allowed_origins(
    app_client: Client, tenant: Tenant
) -> None:
    open_form = await create_form(app_client, tenant)
    closed_form = await create_form(app_client, tenant, settings={"allowed_origins": ["https://www.example.com"]})

    plain = await app_client.get(f"/f/{closed_form['slug']}")
    embedded = await app_client.get(f"/f/{closed_form['slug']}?embed=1&origin=https://www.example.com")
    anywhere = await app_client.get(f"/f/{open_form['slug']}?embed=1&origin=https://blog.example.org")
    stranger = await app_client.get(f"/f/{closed_form['slug']}?embed=1&origin=https://evil.example")

    assert "frame-ancestors 'none'" in plain.headers["content-security-policy"]
    assert "script-src" not in plain.headers["content-security-policy"]
    assert "<script" not in plain.text
    assert "frame-ancestors https://www.example.com" in embedded.headers["content-security-policy"]
    assert 'data-parent-origin="https://www.example.com"' in embedded.text
    assert '<input type="hidden" name="_embed_origin" value="https://www.example.com">' in embedded.text
    assert "<script>" in embedded.text
    assert "frame-ancestors *" in anywhere.headers["content-security-policy"]
    assert 'data-parent-origin="https://blog.example.org"' in anywhere.text
    assert "data-parent-origin" not in stranger.text  # it will never be told anything
    assert "frame-ancestors https://www.example.com" in stranger.headers["content-security-policy"]


async def test_the_frame_script_is_allowed_by_its_hash_and_posts_only_to_the_parent_origin(
    app_client: Client, tenant: Tenant
) -> None:
    form = await create_form(app_client, tenant)

    page = await app_client.get(f"/f/{form['slug']}?embed=1&origin=https://www.example.com")

    script = re.search(r"<script>(.*?)</script>", page.text, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in page.headers["content-security-policy"]
    assert "postMessage(message, parentOrigin)" in script.group(1)
    assert '"*"' not in script.group(1)


async def test_an_embedded_post_stays_in_the_frame_and_the_thank_you_page_tells_the_parent(
    app_client: Client, tenant: Tenant, ingest_settings: Settings
) -> None:
    settings = {"allowed_origins": ["https://www.example.com"], "redirect_url": "https://www.example.com/thanks"}
    form = await create_form(app_client, tenant, settings=settings)
    body = {
        "name": "A",
        "email": "a@example.com",
        "consent": "sales_contact",
        "_t": token(ingest_settings, form["id"]),
        "_embed_origin": "https://www.example.com",
    }

    sent = await app_client.post(f"/f/{form['slug']}", data=body, follow_redirects=False)
    thanks = await app_client.get(sent.headers["location"])

    assert sent.status_code == 303
    assert sent.headers["location"].startswith(f"/f/{form['slug']}/thanks?embed=1&origin=https")
    assert 'data-parent-origin="https://www.example.com"' in thanks.text
    assert 'data-submitted="sub_' in thanks.text
    assert 'data-redirect="https://www.example.com/thanks"' in thanks.text
    assert 'role="status"' in thanks.text


async def test_embed_js_is_small_cacheable_and_served_compressed(
    app_client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = await app_client.get("/embed.js", headers={"Accept-Encoding": "identity"})
    compressed = await app_client.get("/embed.js", headers={"Accept-Encoding": "gzip"})
    again = await app_client.get("/embed.js", headers={"If-None-Match": plain.headers["etag"]})

    size = len(gzip.compress(plain.content, 9))
    with capsys.disabled():  # the figures belong in the test output
        print(f"\nembed.js: {len(plain.content)} bytes, {size} bytes gzipped (limit {MAX_LOADER_GZIP})")  # noqa: T201
    assert size < MAX_LOADER_GZIP
    assert plain.headers["content-type"].startswith("text/javascript")
    assert "max-age" in plain.headers["cache-control"]
    assert compressed.headers.get("content-encoding") == "gzip"
    assert compressed.content == plain.content  # httpx undoes the gzip
    assert again.status_code == 304
    assert "postMessage" not in plain.text or '"*"' not in plain.text
    assert "event.origin !== origin" in plain.text


async def test_the_page_and_its_assets_weigh_under_30_kb(
    app_client: Client, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    form = await create_form(app_client, tenant)

    page = await app_client.get(f"/f/{form['slug']}")
    embedded = await app_client.get(f"/f/{form['slug']}?embed=1&origin=https://www.example.com")

    external = re.findall(r'(?:src|href)="(https?:)?//', page.text)
    with capsys.disabled():
        sizes = f"hosted page: {len(page.content)} bytes, embed page: {len(embedded.content)} bytes"
        print(f"\n{sizes} (limit {MAX_PAGE_BYTES})")  # noqa: T201
    assert external == []  # no fonts, scripts, styles or trackers from elsewhere: the page is all there is
    assert len(page.content) < MAX_PAGE_BYTES
    assert len(embedded.content) < MAX_PAGE_BYTES


async def test_the_snippet_api_gives_the_link_and_the_snippet(
    app_client: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    form = await create_form(app_client, tenant, name='Say "hi" & <go>')

    response = await app_client.get(f"/api/v1/forms/{form['id']}/embed", headers=tenant.headers)
    theirs = await app_client.get(f"/api/v1/forms/{form['id']}/embed", headers=other_tenant.headers)

    assert response.status_code == 200
    embed = response.json()
    base = "http://testserver.local"
    assert embed["public_url"] == f"{base}/f/{form['slug']}"
    attributes = f'data-leadwire-form="{form["slug"]}" data-leadwire-title="Say &#34;hi&#34; &amp; &lt;go&gt;"'
    assert embed["snippet"].startswith(f'<script src="{base}/embed.js" {attributes} async></script>')
    assert f'<noscript><a href="{base}/f/{form["slug"]}">' in embed["snippet"]
    assert embed["snippet_div"].startswith(f'<div data-leadwire-form="{form["slug"]}"')
    assert theirs.status_code == 404
