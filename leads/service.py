"""The leads slice's service: reading leads and submissions (the ingest pipeline writes them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from core.database import counts_per_day
from core.errors import FieldError, NotFound, ValidationFailed
from core.pagination import fetch_page
from forms import service as forms
from leads.models import Lead, Submission
from leads.normalise import InvalidValueError, canonical_email, e164_phone

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("daily_verdicts", "get_lead", "list_leads", "list_submissions", "spam_reasons", "verdict_of")


def _search_value(field: str, value: str) -> str:
    try:
        return canonical_email(value) if field == "email" else e164_phone(value, None)
    except InvalidValueError as exc:
        raise ValidationFailed([FieldError(field, exc.code, exc.message)]) from exc


async def list_leads(
    session: AsyncSession,
    *,
    workspace_id: str,
    email: str | None,
    phone: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Lead], str | None]:
    """One page of the workspace's leads, newest first; ``email`` and ``phone`` match canonically.

    Raises:
        ValidationFailed: ``email`` or ``phone`` is not an address or number (a phone needs its ``+`` country code).
    """
    statement = select(Lead).where(Lead.workspace_id == workspace_id, Lead.erased_at.is_(None))
    if email is not None:
        statement = statement.where(Lead.email == _search_value("email", email))
    if phone is not None:
        statement = statement.where(Lead.phone == _search_value("phone", phone))
    return await fetch_page(session, statement, id_column=Lead.id, limit=limit, cursor=cursor)


async def daily_verdicts(session: AsyncSession, *, workspace_id: str, since: datetime) -> list[tuple[str, str, int]]:
    """Submissions per day (``YYYY-MM-DD``, UTC) and verdict since a time: for the console's chart."""
    return await counts_per_day(
        session,
        Submission.created_at,
        Submission.verdict,
        Submission.workspace_id == workspace_id,
        Submission.created_at >= since,
    )


async def spam_reasons(session: AsyncSession, *, workspace_id: str, since: datetime) -> list[tuple[str, str, int]]:
    """Spam per form and reason since a time, most first: ``(form_id, spam_reason, count)``, for the console.

    Spam is answered like a lead, so without this count a form whose every post is kept as spam would look fine.
    """
    count = func.count()
    rows = await session.execute(
        select(Submission.form_id, Submission.spam_reason, count)
        .where(
            Submission.workspace_id == workspace_id,
            Submission.verdict == "spam",
            Submission.created_at >= since,
        )
        .group_by(Submission.form_id, Submission.spam_reason)
        .order_by(count.desc())
    )
    return [(form_id, reason or "unknown", int(n)) for form_id, reason, n in rows.all()]


async def get_lead(session: AsyncSession, *, workspace_id: str, lead_id: str) -> tuple[Lead, list[Submission]]:
    """A lead with its submissions, newest first (``consent.service.lead_history`` adds its consent history).

    Raises:
        NotFound: No such lead in this workspace.
    """
    lead = await session.scalar(select(Lead).where(Lead.id == lead_id, Lead.workspace_id == workspace_id))
    if lead is None:
        raise NotFound("no such lead")
    submissions = (
        await session.scalars(select(Submission).where(Submission.lead_id == lead.id).order_by(Submission.id.desc()))
    ).all()
    return lead, list(submissions)


async def list_submissions(
    session: AsyncSession,
    *,
    workspace_id: str,
    form_id: str | None,
    verdict: str | None,
    limit: int,
    cursor: str | None,
    person: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[Submission], str | None]:
    """One page of the workspace's submissions, newest first, optionally of one form and one verdict.

    ``person`` finds submissions whose email or phone contains it (case-insensitively); ``since`` and ``until``
    bound the time they arrived.

    Raises:
        NotFound: ``form_id`` is not a form of this workspace.
    """
    statement = select(Submission).where(Submission.workspace_id == workspace_id)
    if form_id is not None:
        await forms.get_form(session, workspace_id=workspace_id, form_id=form_id)
        statement = statement.where(Submission.form_id == form_id)
    if verdict is not None:
        statement = statement.where(Submission.verdict == verdict)
    if person:
        pattern = "%" + person.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(func.lower(Submission.person).like(pattern, escape="\\"))
    if since is not None:
        statement = statement.where(Submission.created_at >= since)
    if until is not None:
        statement = statement.where(Submission.created_at < until)
    return await fetch_page(session, statement, id_column=Submission.id, limit=limit, cursor=cursor)


async def verdict_of(session: AsyncSession, *, submission_id: str) -> str | None:
    """What became of a submission (``accepted``, ``duplicate``, ``spam``, ``test``); None when there is no such one."""
    verdict: str | None = await session.scalar(select(Submission.verdict).where(Submission.id == submission_id))
    return verdict
