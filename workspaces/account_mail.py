"""The messages the console mails to people: an invitation, and a link to choose a new password. Plain text, with
the link on a line of its own; nothing in them names anything the recipient does not already know."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime
    from email.message import EmailMessage

    from core.mail import Mailer

__all__ = ("invitation_message", "reset_message")


def invitation_message(
    mailer: Mailer, *, to: str, link: str, workspace: str, inviter: str, role: str, expires_at: datetime
) -> EmailMessage:
    """The mail that carries an invitation's link."""
    text = f"""{inviter} invited you to join {workspace} on Leadwire, as {role}.

To accept, open this link and choose your password (or sign in, if you have an account already):

{link}

The link works once, until {expires_at.strftime("%Y-%m-%d %H:%M")} UTC. If you did not expect this invitation,
ignore this message: nothing happens unless the link is opened.
"""
    return mailer.message(to=to, subject=f"You are invited to {workspace} on Leadwire", text=text)


def reset_message(mailer: Mailer, *, to: str, link: str) -> EmailMessage:
    """The mail that carries a password reset link."""
    text = f"""Someone asked to reset the password of your Leadwire account ({to}).

To choose a new password, open this link within an hour. It works once, and signs you out everywhere:

{link}

If it was not you, ignore this message: your password stays as it is.
"""
    return mailer.message(to=to, subject="Reset your Leadwire password", text=text)
