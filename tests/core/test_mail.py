"""``LEADWIRE_SMTP_URL`` read as operators write it: the scheme says how TLS starts, a port by default, and a user
name or password percent-encoded."""

from __future__ import annotations

from core.mail import SmtpServer, parse_smtp_url, sender_address


def _server(host: str, port: int, username: str | None, password: str | None, *, implicit_tls: bool) -> SmtpServer:
    return SmtpServer(host=host, port=port, username=username, password=password, implicit_tls=implicit_tls)


def test_smtp_urls_say_how_tls_starts_and_carry_percent_encoded_credentials() -> None:
    assert parse_smtp_url("smtp://mail.example.com") == _server("mail.example.com", 587, None, None, implicit_tls=False)
    assert parse_smtp_url("smtps://team%40example.com:p%3Ass%2Fw@mail.example.com") == _server(
        "mail.example.com", 465, "team@example.com", "p:ss/w", implicit_tls=True
    )
    assert parse_smtp_url("smtp://u:@127.0.0.1:2525") == _server("127.0.0.1", 2525, "u", "", implicit_tls=False)
    assert sender_address("Leadwire <team@example.com>") == "team@example.com"
    assert sender_address("Leadwire") is None
