"""Mail: plain-text messages sent over SMTP with aiosmtplib, in the background, when ``LEADWIRE_SMTP_URL`` is set.

``smtp://user:password@host:port`` upgrades to TLS with STARTTLS when the server offers it; ``smtps://`` speaks TLS from
the first byte (port 465 by default). A message that cannot be sent is logged (its recipient's domain, never its text:
the text carries links that open accounts) and dropped: mail is a convenience beside what the console shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import aiosmtplib

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from core.settings import Settings

__all__ = ("Mailer", "SmtpServer", "parse_smtp_url", "sender_address")

_logger = logging.getLogger("leadwire.mail")
_TIMEOUT_S = 15.0
_DRAIN_S = 10.0  # at shutdown, how long messages still being sent may take


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send: from ``LEADWIRE_SMTP_URL``."""

    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://[user:password@]host[:port]`` (STARTTLS when offered, port 587 by default) or ``smtps://...`` (TLS
    from the start, port 465 by default). A user name or password with ``@`` or ``:`` in it is percent-encoded.

    Raises:
        ValueError: Another scheme, no host, or a port that is not a number.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"}:
        raise ValueError("expected smtp://user:password@host:port or smtps://...")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port is not a number") from None
    if not parts.hostname:
        raise ValueError("the URL names no host")
    implicit = parts.scheme == "smtps"
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if implicit else 587),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        implicit_tls=implicit,
    )


def sender_address(value: str) -> str | None:
    """The address of ``LEADWIRE_SMTP_FROM`` (``Leadwire <team@example.com>`` or a bare address), or ``None``."""
    _, address = parseaddr(value)
    return address if "@" in address else None


class Mailer:
    """Sends the app's messages (invitations, password resets) without keeping a request waiting."""

    def __init__(self, settings: Settings) -> None:
        self._server = parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
        self._sender = settings.smtp_from
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def configured(self) -> bool:
        """Whether ``LEADWIRE_SMTP_URL`` is set: mail can be sent at all."""
        return self._server is not None

    def message(self, *, to: str, subject: str, text: str) -> EmailMessage:
        """A plain-text message from ``LEADWIRE_SMTP_FROM``."""
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.now(UTC))
        domain = (sender_address(self._sender) or "leadwire@localhost").rpartition("@")[2]
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(text)
        return message

    async def send(self, message: EmailMessage) -> None:
        """Send one message now.

        Raises:
            aiosmtplib.SMTPException: The server could not be reached, refused us, or refused the message.
        """
        server = self._server
        if server is None:
            return
        await aiosmtplib.send(
            message,
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.implicit_tls,
            start_tls=False if server.implicit_tls else None,  # None: upgrade when the server offers STARTTLS
            timeout=_TIMEOUT_S,
        )

    def in_background(self, work: Callable[[], Awaitable[None]], *, what: str) -> None:
        """Run ``work`` (which usually ends by sending a message) after the request has been answered; a failure
        is logged as ``what`` failing, with the exception's type, never the message."""

        async def run() -> None:
            try:
                await work()
            except Exception as exc:
                _logger.warning("%s failed: %s", what, type(exc).__name__)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Let the messages on their way finish, for a few seconds; then give up on them."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=_DRAIN_S)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
