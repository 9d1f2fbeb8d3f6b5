"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, get

from core.errors import ServiceUnavailable

if TYPE_CHECKING:
    from core.database import Database

__all__ = ("Health", "healthz", "readyz")

_logger = logging.getLogger("leadwire.health")
_READY_TIMEOUT_S = 2.0


class Health(msgspec.Struct):
    status: str


@get("/healthz", tags=["health"], summary="The process is up", cache_control=None)
async def healthz() -> Health:
    return Health(status="ok")


@get("/readyz", tags=["health"], summary="The database answers; 503 problem+json otherwise")
async def readyz(request: Request[Any, Any, Any]) -> Health:
    db: Database = request.app.state.db
    try:
        await asyncio.wait_for(db.ping(), timeout=_READY_TIMEOUT_S)
    except Exception as exc:  # any failure to reach the database means "not ready"
        if not db.outage.failed(exc):  # an outage is logged once, with back-off, not at every probe
            _logger.warning("readiness check failed: %s", type(exc).__name__)
        raise ServiceUnavailable("the database is not reachable") from exc
    db.outage.recovered()
    return Health(status="ready")
