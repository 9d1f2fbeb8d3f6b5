"""Consent notices (the exact, hashed, versioned texts that consent events point at), events, and where each stands."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from consent.models import ConsentEvent, ConsentNotice
from core.ids import new_id
from forms import service as forms
from leads import service as leads

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import Session

    from forms.models import Form
    from leads.models import Lead, Submission

__all__ = (
    "GIVING",
    "append_events",
    "current_states",
    "events_of_lead",
    "events_of_submission",
    "lead_history",
    "list_notices",
    "notices_for",
    "redact_events",
    "standing_states",
    "state_summary",
    "text_sha256",
)

_NoticeKey = tuple[str, str, str]  # purpose, channel, SHA-256 of the text


def text_sha256(text: str) -> str:
    """Hex SHA-256 of the UTF-8 text, as stored with every notice and sent with every consent."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _existing(session: Session, form_id: str) -> list[ConsentNotice]:
    return list(
        session.scalars(
            select(ConsentNotice)
            .where(ConsentNotice.form_id == form_id)
            .order_by(ConsentNotice.purpose, ConsentNotice.version)
        ).all()
    )


def notices_for(session: Session, *, form: Form) -> dict[str, ConsentNotice]:
    """The notice of each of the form's consent purposes as the form stands now, created on first use.

    A text seen before maps to its existing notice; a new text for a purpose becomes that purpose's next version.
    Old notices are never changed. Safe under concurrency: a competing transaction that created the same notice
    first wins, and this one reads it back (a savepoint keeps the caller's transaction usable on PostgreSQL).

    Args:
        session: A write transaction's synchronous session (it may insert notices); from async code,
            ``await session.run_sync(notices_for, form=form)``.
        form: The form whose current consent texts are wanted.

    Returns:
        The notice per purpose.
    """
    wanted = forms.definition_of(form).consents
    for _ in range(3):
        existing = _existing(session, form.id)
        by_key: dict[_NoticeKey, ConsentNotice] = {(n.purpose, n.channel, n.text_sha256): n for n in existing}
        latest: dict[str, int] = {}
        for notice in existing:
            latest[notice.purpose] = max(latest.get(notice.purpose, 0), notice.version)
        missing = [c for c in wanted if (c.purpose, c.channel, text_sha256(c.text)) not in by_key]
        if not missing:
            return {c.purpose: by_key[(c.purpose, c.channel, text_sha256(c.text))] for c in wanted}
        try:
            with session.begin_nested():
                for consent in missing:
                    session.add(
                        ConsentNotice(
                            id=new_id("cn"),
                            workspace_id=form.workspace_id,
                            form_id=form.id,
                            purpose=consent.purpose,
                            channel=consent.channel,
                            text=consent.text,
                            text_sha256=text_sha256(consent.text),
                            version=latest.get(consent.purpose, 0) + 1,
                        )
                    )
        except IntegrityError:
            continue  # another transaction created a notice for this form first: read again
    raise RuntimeError(f"could not settle the consent notices of form {form.id}")


async def list_notices(session: AsyncSession, *, workspace_id: str, form_id: str) -> list[ConsentNotice]:
    """Every notice version of the workspace's form, by purpose then version.

    Raises:
        NotFound: No such form in this workspace.
    """
    await forms.get_form(session, workspace_id=workspace_id, form_id=form_id)
    return await session.run_sync(_existing, form_id)


async def events_of_lead(session: AsyncSession, *, lead_id: str) -> list[tuple[ConsentEvent, ConsentNotice]]:
    """Every consent event of the lead with the notice it refers to, oldest first (the caller checks the workspace)."""
    rows = await session.execute(
        select(ConsentEvent, ConsentNotice)
        .join(ConsentNotice, ConsentNotice.id == ConsentEvent.notice_id)
        .where(ConsentEvent.lead_id == lead_id)
        .order_by(ConsentEvent.recorded_at, ConsentEvent.purpose)
    )
    return [(event, notice) for event, notice in rows.all()]


async def lead_history(
    session: AsyncSession, *, workspace_id: str, lead_id: str
) -> tuple[Lead, list[Submission], list[tuple[ConsentEvent, ConsentNotice]]]:
    """A lead with its submissions (newest first) and its consent history (oldest first).

    Raises:
        NotFound: No such lead in this workspace.
    """
    lead, submissions = await leads.get_lead(session, workspace_id=workspace_id, lead_id=lead_id)
    return lead, submissions, await events_of_lead(session, lead_id=lead.id)


async def append_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append consent events (rows of ``consent_event``; an ``id`` is given to rows without one). Never updates."""
    for row in rows:
        row.setdefault("id", new_id("ce"))
    if rows:
        await session.execute(insert(ConsentEvent), rows)


GIVING = frozenset({"given", "confirmed"})
"""States in which a purpose may be used, and so withdrawn."""


def standing_states(events: Iterable[ConsentEvent], *, unconfirmed: Collection[str] = ()) -> dict[str, ConsentEvent]:
    """Where each purpose stands, from a lead's events oldest first: the event that put it there.

    The one rule used everywhere a current state is shown (receipt, lead page, API, webhook):

    - ``given`` and ``confirmed`` raise a purpose, ``withdrawn`` lowers it: only an explicit withdrawal (the
      receipt's button, the API, the console) ends a consent;
    - ``refused`` only says that one submission gave no consent: it stands only where nothing stood before, and
      never lowers an earlier ``given`` or ``confirmed`` (not ticking a box is not a withdrawal);
    - the ``given`` and ``refused`` of a double opt-in submission that is not confirmed (``unconfirmed`` holds
      their submission ids) change nothing: anyone can type someone's address, and the confirmation appends the
      ``confirmed`` events that count.
    """
    standing: dict[str, ConsentEvent] = {}
    for event in events:
        if event.state in {"given", "refused"} and event.submission_id in unconfirmed:
            continue
        if event.state == "refused" and event.purpose in standing:
            continue
        if event.state == "given" and getattr(standing.get(event.purpose), "state", None) == "confirmed":
            continue  # a confirmed consent given again stays confirmed
        standing[event.purpose] = event
    return standing


def state_summary(events: Iterable[ConsentEvent], *, unconfirmed: Collection[str] = ()) -> list[dict[str, Any]]:
    """Where each purpose stands, as the API and the webhooks show it: ``purpose``, ``channel``, ``state`` and
    ``since`` (ISO 8601), by purpose. A purpose asked only in unconfirmed double opt-in submissions is ``pending``."""
    events = list(events)
    standing = standing_states(events, unconfirmed=unconfirmed)
    summary = {
        purpose: {"purpose": purpose, "channel": e.channel, "state": e.state, "since": _stamp(e.recorded_at)}
        for purpose, e in standing.items()
    }
    for e in events:
        summary.setdefault(
            e.purpose, {"purpose": e.purpose, "channel": e.channel, "state": "pending", "since": _stamp(e.recorded_at)}
        )
    return [summary[purpose] for purpose in sorted(summary)]


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def current_states(
    session: AsyncSession, *, lead_id: str, unconfirmed: Collection[str] = ()
) -> dict[str, ConsentEvent]:
    """Where each purpose the lead was ever asked about stands now (see :func:`standing_states`)."""
    events = await session.scalars(
        select(ConsentEvent).where(ConsentEvent.lead_id == lead_id).order_by(ConsentEvent.recorded_at, ConsentEvent.id)
    )
    return standing_states(events, unconfirmed=unconfirmed)


async def events_of_submission(
    session: AsyncSession, *, submission_id: str
) -> list[tuple[ConsentEvent, ConsentNotice]]:
    """The consent events recorded with one submission, with their notices, in purpose order."""
    rows = await session.execute(
        select(ConsentEvent, ConsentNotice)
        .join(ConsentNotice, ConsentNotice.id == ConsentEvent.notice_id)
        .where(ConsentEvent.submission_id == submission_id, ConsentEvent.state.in_(("given", "refused")))
        .order_by(ConsentEvent.purpose)
    )
    return [(event, notice) for event, notice in rows.all()]


async def redact_events(session: AsyncSession, *, lead_id: str) -> None:
    """Erase what is personal in a lead's consent events (page, address, user agent); the facts stay for audit."""
    await session.execute(
        update(ConsentEvent)
        .where(ConsentEvent.lead_id == lead_id)
        .values(page_url=None, client_ip=None, user_agent=None)
    )
