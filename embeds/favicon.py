"""The site icon, served by Leadwire itself: browsers ask every site for ``/favicon.ico``, and a 404 there is noise."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get

__all__ = ("favicon_ico", "favicon_svg")

_ICON = (Path(__file__).resolve().parent / "static" / "favicon.svg").read_bytes()
_HEADERS = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}


@get("/favicon.svg", include_in_schema=False)
async def favicon_svg() -> Response[bytes]:
    return Response(_ICON, media_type="image/svg+xml", headers=_HEADERS)


@get("/favicon.ico", include_in_schema=False)
async def favicon_ico() -> Response[bytes]:
    # The same picture: browsers read the icon by its Content-Type, not by the name they asked for.
    return Response(_ICON, media_type="image/svg+xml", headers=_HEADERS)
