"""The API documentation at ``/schema`` works offline: every script, style sheet, font and icon comes from Leadwire."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.conftest import Client

# src/href attributes, CSS url(...) and @import: every way a page pulls in another resource.
_REFERENCES = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)|@import\s+["']([^"']+)""")


def _references(page: str) -> list[str]:
    return [next(group for group in match.groups() if group) for match in _REFERENCES.finditer(page)]


async def test_the_docs_pages_load_nothing_from_another_host(client: Client) -> None:
    for path in ("/schema", "/schema/swagger"):
        response = await client.get(path)
        assert response.status_code == 200, path
        references = _references(response.text)
        assert references, "the page loads its scripts and styles from somewhere"
        external = [ref for ref in references if re.match(r"(?i)(https?:)?//", ref)]
        assert external == [], f"{path} loads {external}"
        for reference in references:
            asset = await client.get(reference)
            assert asset.status_code == 200, reference
            if reference.endswith(".css"):  # the style sheet must not pull fonts or images from elsewhere
                assert [ref for ref in _references(asset.text) if re.match(r"(?i)(https?:)?//", ref)] == []


async def test_the_docs_send_no_spec_to_an_online_validator(client: Client) -> None:
    page = (await client.get("/schema")).text
    assert "validatorUrl: null" in page


async def test_no_docs_renderer_that_loads_from_a_cdn_is_served(client: Client) -> None:
    for path in ("/schema/redoc", "/schema/elements", "/schema/rapidoc", "/schema/scalar"):
        assert (await client.get(path)).status_code == 404, path
    assert (await client.get("/schema/openapi.json")).status_code == 200
