"""Logging: plain text by default, one JSON object per line with ``LEADWIRE_LOG_FORMAT=json``; a request id on both.

Every HTTP request gets an id (the client's ``X-Request-ID`` when it is a sensible one, else a new one). It is
returned in the ``X-Request-ID`` response header and attached to every log record written while the request is
handled, so one request's lines can be found together.
"""

from __future__ import annotations

import contextvars
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.enums import ScopeType

from core.ids import random_hex

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

    from core.settings import Settings

__all__ = ("JsonFormatter", "configure_logging", "current_request_id", "redact_target", "request_id_middleware")

_REQUEST_ID = contextvars.ContextVar[str | None]("leadwire_request_id", default=None)
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def current_request_id() -> str | None:
    """The id of the request being handled, if any."""
    return _REQUEST_ID.get()


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _REQUEST_ID.get() or "-"
        return True


_TOKEN_PATH = re.compile(r"^/(c|confirm|console/invitations|console/reset-password)/[^/?]+")
_PLAIN_QUERY = frozenset({"limit", "status", "verdict", "kind", "event_type", "withdrawn"})


def redact_target(target: str) -> str:
    """A request target fit for the access log: link tokens and query values (but a few harmless ones) hidden.

    Receipt and confirmation links are bearer tokens to a person's data, invitation and password reset links to an
    account; query strings carry Meta's verify token and the email or phone a lead search was for.
    """
    path, _, query = target.partition("?")
    path = _TOKEN_PATH.sub(lambda match: f"/{match.group(1)}/…", path)
    if not query:
        return path
    pairs = (pair.partition("=") for pair in query.split("&"))
    return path + "?" + "&".join(f"{k}={v if k in _PLAIN_QUERY else '…'}" if eq else k for k, eq, v in pairs)


class _AccessFilter(logging.Filter):
    """Redacts the request target of uvicorn's access records (their args: client, method, target, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):  # noqa: PLR2004
            record.args = (args[0], args[1], redact_target(args[2]), args[3], args[4])
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) if getattr(record, "request_id", "-") != "-" else None,
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(document).decode()


_QUIET_LIBRARIES = ("sqlalchemy", "aiosqlite", "asyncpg", "httpx", "httpcore", "aiohttp", "hpack")


def configure_logging(settings: Settings) -> None:
    """Send every record to standard error in the configured format, with the request id attached."""
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    access.filters[:] = [_AccessFilter()]
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # Libraries that log what passes through them (SQLAlchemy's result rows, httpx's request URLs with Meta's
    # access token, every aiosqlite call) would put secrets and personal data in the log at debug or info level:
    # they log warnings and errors only, whatever LEADWIRE_LOG_LEVEL says.
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: pick the request's id, keep it for the logs, and send it back as ``X-Request-ID``."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        sent = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = sent if _ACCEPTABLE.fullmatch(sent) else random_hex(8)
        token = _REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            _REQUEST_ID.reset(token)

    return middleware
