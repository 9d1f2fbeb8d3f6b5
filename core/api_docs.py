"""The API documentation at ``/schema``: Swagger UI served from Leadwire itself, never from a public CDN.

Litestar's render plugins load their scripts, style sheets, fonts and favicon from public CDNs: the docs break
offline and tell third parties who reads them. Swagger UI's files come from the ``swagger-ui-bundle-v2`` package
(Apache-2.0, its licence ships in the package's metadata) and are served under ``/schema/assets/``. Swagger UI 5
renders OpenAPI 3.1, which Litestar generates.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, YamlRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from core.openapi_completion import complete_document

if TYPE_CHECKING:
    from collections.abc import Mapping

    from litestar import Request, Router

    from core.openapi_completion import WebhookEvent

__all__ = ("CompletedJson", "CompletedYaml", "SelfHostedSwaggerUI", "docs_render_plugins")

_ASSETS = "/assets"


class SelfHostedSwaggerUI(OpenAPIRenderPlugin):
    """Swagger UI at ``/schema`` and ``/schema/swagger``, with its files served from ``/schema/assets/``."""

    def __init__(self, base_path: str = "/schema", webhooks: Mapping[str, WebhookEvent] | None = None) -> None:
        """Args:
        base_path: Where the OpenAPI router is mounted (``OpenAPIConfig.path``).
        webhooks: The events Leadwire sends, for the document's ``webhooks`` section.
        """
        self.webhooks = webhooks or {}
        self.assets = f"{base_path.rstrip('/')}{_ASSETS}"
        super().__init__(
            path=["/", "/swagger"],
            favicon=f'<link rel="icon" type="image/png" href="{self.assets}/favicon-32x32.png">',
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The Swagger UI page, with the document inlined (one request fewer, and no URL to leak)."""
        openapi_schema = _completed(openapi_schema, self.webhooks)
        # "</" inside the inlined JSON would end the <script> element early; "<\/" is the same JSON string.
        spec = self.render_json(request, openapi_schema).replace(b"</", b"<\\/")
        head = (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{openapi_schema["info"]["title"]} API'
            f'</title><meta name="viewport" content="width=device-width, initial-scale=1">{self.favicon}'
            f'<link rel="stylesheet" href="{self.assets}/swagger-ui.css">{self.style}</head>'
        )
        body = (
            b'<body><div id="swagger-ui"></div>'
            + f'<script src="{self.assets}/swagger-ui-bundle.js"></script>'.encode()
            + f'<script src="{self.assets}/swagger-ui-standalone-preset.js"></script>'.encode()
            # validatorUrl: null, or Swagger UI may send the document to an online validator for its badge.
            + b"<script>window.ui = SwaggerUIBundle({spec: "
            + spec
            + b", dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null,"
            b" presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout'});"
            b"</script></body></html>"
        )
        return head.encode() + body

    def receive_router(self, router: Router) -> None:
        """Serve Swagger UI's own files beside the page."""
        router.register(
            create_static_files_router(
                path=_ASSETS,
                directories=[Path(str(swagger_ui_path))],
                name="api-docs-assets",
                cache_control=CacheControlHeader(max_age=86400, public=True),
                include_in_schema=False,
            )
        )


_CACHE: dict[tuple[int, int], tuple[dict[str, Any], dict[str, Any]]] = {}


def _completed(document: dict[str, Any], webhooks: Mapping[str, WebhookEvent]) -> dict[str, Any]:
    """``complete_document`` of Litestar's document, once per document (Litestar builds it once per app)."""
    key = (id(document), id(webhooks))
    cached = _CACHE.get(key)
    if cached is None or cached[0] is not document:
        cached = _CACHE[key] = (document, complete_document(document, webhooks))
    return cached[1]


class CompletedJson(JsonRenderPlugin):
    """``/schema/openapi.json``, completed with what Litestar cannot see (``core.openapi_completion``)."""

    def __init__(self, webhooks: Mapping[str, WebhookEvent] | None = None) -> None:
        """Args:
        webhooks: The events Leadwire sends, for the document's ``webhooks`` section.
        """
        self.webhooks = webhooks or {}
        super().__init__()

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The completed document as JSON."""
        return super().render(request, _completed(openapi_schema, self.webhooks))


class CompletedYaml(YamlRenderPlugin):
    """``/schema/openapi.yaml``, completed like the JSON."""

    def __init__(self, webhooks: Mapping[str, WebhookEvent] | None = None) -> None:
        """Args:
        webhooks: The events Leadwire sends, for the document's ``webhooks`` section.
        """
        self.webhooks = webhooks or {}
        super().__init__()

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The completed document as YAML."""
        return super().render(request, _completed(openapi_schema, self.webhooks))


def docs_render_plugins(
    base_path: str = "/schema", webhooks: Mapping[str, WebhookEvent] | None = None
) -> list[OpenAPIRenderPlugin]:
    """The UI and the document in JSON and YAML; no renderer that loads from a CDN (Redoc, Elements, RapiDoc).

    Args:
        base_path: Where the OpenAPI router is mounted (``OpenAPIConfig.path``).
        webhooks: The events Leadwire sends, by type, for the document's ``webhooks`` section.
    """
    return [SelfHostedSwaggerUI(base_path, webhooks), CompletedJson(webhooks), CompletedYaml(webhooks)]
