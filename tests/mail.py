"""A real SMTP server on 127.0.0.1 (aiosmtpd, in a thread of its own) that keeps what it is sent, with a password."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ("Mailbox", "link_in", "mailbox")

USER, PASSWORD = "leadwire", "smtp p@ss:word"


class Mailbox:
    """What the local SMTP server received: each message as the recipient's mail program reads it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []

    @property
    def url(self) -> str:
        """``LEADWIRE_SMTP_URL`` for this server (the password percent-encoded, as it must be)."""
        return f"smtp://{USER}:smtp%20p%40ss%3Aword@127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        del server, session
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        del server, session, envelope
        if isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode()):
            self.logins.append(mechanism)
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def wait_for(self, count: int, seconds: float = 10.0) -> list[EmailMessage]:
        """The first ``count`` messages, once they have arrived."""
        for _ in range(int(seconds / 0.05)):
            if len(self.messages) >= count:
                return self.messages[:count]
            await asyncio.sleep(0.05)
        raise AssertionError(f"{len(self.messages)} message(s) arrived, not {count}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def link_in(message: EmailMessage, path: str) -> str:
    """The link in a message's text whose path starts with ``path``."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    found = re.search(rf"https?://\S+{re.escape(path)}\S*", text)
    assert found, text
    return found.group(0)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """An SMTP server that asks for a user and password (over plain SMTP: it is loopback, and offers no STARTTLS)."""
    box = Mailbox(_free_port())
    controller = Controller(
        box, hostname="127.0.0.1", port=box.port, authenticator=box.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
