"""The site's root: Leadwire has no home page of its own, so ``/`` opens the console (which asks for a sign-in)."""

from __future__ import annotations

from litestar import get
from litestar.response import Redirect

__all__ = ("root",)


@get("/", include_in_schema=False)
async def root() -> Redirect:
    return Redirect("/console", status_code=302)
