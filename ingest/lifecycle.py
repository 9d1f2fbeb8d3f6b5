"""After the submission: consent receipts, withdrawal, and double opt-in confirmation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from consent import service as consent
from consent.schemas import (
    ConsentReceipt,
    ReceiptController,
    ReceiptNotice,
    ReceiptPurpose,
    ReceiptSubject,
)
from consent.tokens import receipt_token
from core.database import utcnow
from core.errors import Conflict, FieldError, NotFound, ValidationFailed
from delivery import service as delivery
from forms import service as forms
from ingest.models import Lead, Submission
from workspaces import service as workspaces

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from consent.models import ConsentEvent, ConsentNotice
    from core.settings import Settings

__all__ = ("confirm_submission", "pending_confirmation", "receipt_of", "withdraw_consents", "workspace_of")

SCHEMA_VERSION = "ISO/IEC TS 27560:2023"
_WITHDRAWABLE = frozenset({"given", "confirmed"})
_METHODS = {"form": "web form", "api": "api"}


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def _submission(session: AsyncSession, submission_id: str, *, for_update: bool = False) -> Submission:
    statement = select(Submission).where(Submission.id == submission_id)
    if for_update:
        statement = statement.with_for_update()
    submission = await session.scalar(statement)
    if submission is None:
        raise NotFound("no such submission")
    return submission


async def _collected(
    session: AsyncSession, submission: Submission, lead: Lead | None
) -> list[tuple[ConsentEvent, ConsentNotice]]:
    """The consents this submission recorded; for a duplicate, those the person gave on the same form before."""
    own = await consent.events_of_submission(session, submission_id=submission.id)
    if own or lead is None:
        return own
    latest: dict[str, tuple[ConsentEvent, ConsentNotice]] = {}
    for event, notice in await consent.events_of_lead(session, lead_id=lead.id):
        if event.form_id == submission.form_id and event.state in {"given", "refused"}:
            latest[event.purpose] = (event, notice)
    return [latest[purpose] for purpose in sorted(latest)]


async def receipt_of(session: AsyncSession, settings: Settings, *, submission_id: str) -> ConsentReceipt:
    """The consent receipt of one submission: what was agreed, to which exact texts, and where each stands now.

    Raises:
        NotFound: No such submission.
    """
    submission = await _submission(session, submission_id)
    lead = await session.get(Lead, submission.lead_id) if submission.lead_id else None
    form = await forms.get_form_any(session, form_id=submission.form_id)
    workspace = await workspaces.get_workspace(session, submission.workspace_id)
    definition = forms.definition_of(form)
    states = await consent.current_states(session, lead_id=lead.id) if lead is not None else {}
    purposes = []
    for event, notice in await _collected(session, submission, lead):
        current = states.get(event.purpose)
        current_state = current.state if current is not None else event.state
        purposes.append(
            ReceiptPurpose(
                purpose=event.purpose,
                channel=event.channel,
                state=event.state,
                current_state=current_state,
                notice_version=notice.version,
                notice_text=notice.text,
                text_sha256=notice.text_sha256,
                recorded_at=event.recorded_at,
                withdrawable=current_state in _WITHDRAWABLE and lead is not None and lead.erased_at is None,
            )
        )
    url = f"{settings.public_base_url.rstrip('/')}/c/{receipt_token(settings, submission.id)}"
    owner = workspaces.settings_of(workspace)
    notice_url = definition.settings.privacy_notice_url or owner.privacy_policy_url
    return ConsentReceipt(
        schema_version=SCHEMA_VERSION,
        receipt_id=f"rcpt_{submission.id.removeprefix('sub_')}",
        receipt_url=url,
        event_time=submission.created_at,
        collection_method=_METHODS.get(submission.source, submission.source),
        data_subject=ReceiptSubject(
            id=lead.id if lead else None,
            email=lead.email if lead else None,
            phone=lead.phone if lead else None,
        ),
        controller=ReceiptController(name=workspace.name, contact=owner.contact_email),
        privacy_notice=ReceiptNotice(url=notice_url, language=definition.settings.language),
        purposes=purposes,
        withdrawal_method=f"one click per purpose on {url}, or ask {workspace.name} directly",
    )


async def withdraw_consents(
    session: AsyncSession,
    *,
    workspace_id: str,
    lead_id: str,
    purposes: list[str],
    indication: str,
    submission_id: str | None = None,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> list[str]:
    """Withdraw the lead's consent to ``purposes``: one ``withdrawn`` event each, and one ``consent.withdrawn``.

    Purposes already withdrawn or never given are left alone, so withdrawing twice changes nothing.

    Args:
        indication: How the person asked: ``receipt`` (the link on their receipt) or ``crm`` (they asked the CRM).

    Returns:
        The purposes withdrawn now.

    Raises:
        NotFound: No such lead in this workspace (or it was erased).
        ValidationFailed: A purpose the lead was never asked about.
    """
    lead = await session.scalar(
        select(Lead)
        .where(Lead.id == lead_id, Lead.workspace_id == workspace_id, Lead.erased_at.is_(None))
        .with_for_update()
    )
    if lead is None:
        raise NotFound("no such lead")
    states = await consent.current_states(session, lead_id=lead.id)
    unknown = [p for p in purposes if p not in states]
    if unknown:
        raise ValidationFailed(
            [
                FieldError("purposes", "unknown_purpose", f"this person was never asked about '{p[:64]}'")
                for p in unknown
            ]
        )
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for purpose in dict.fromkeys(purposes):
        latest = states[purpose]
        if latest.state not in _WITHDRAWABLE:
            continue
        rows.append(
            {
                "workspace_id": workspace_id,
                "lead_id": lead.id,
                "submission_id": submission_id,
                "notice_id": latest.notice_id,
                "form_id": latest.form_id,
                "purpose": purpose,
                "channel": latest.channel,
                "state": "withdrawn",
                "indication": indication,
                "page_url": None,
                "client_ip": client_ip,
                "user_agent": user_agent,
                "recorded_at": now,
            }
        )
    if not rows:
        return []
    await consent.append_events(session, rows)
    payload = {
        "lead": {"id": lead.id, "email": lead.email, "phone": lead.phone, "name": lead.name},
        "consent": [
            {"purpose": r["purpose"], "channel": r["channel"], "state": "withdrawn", "recorded_at": _stamp(now)}
            for r in rows
        ],
        "indication": indication,
    }
    await delivery.enqueue(session, workspace_id=workspace_id, event_type="consent.withdrawn", payload=payload)
    return [r["purpose"] for r in rows]


async def workspace_of(session: AsyncSession, *, submission_id: str) -> str:
    """The workspace a submission belongs to.

    Raises:
        NotFound: No such submission.
    """
    return (await _submission(session, submission_id)).workspace_id


async def pending_confirmation(session: AsyncSession, *, submission_id: str) -> Submission:
    """The submission a confirmation link is for, if it still waits for confirmation.

    Raises:
        NotFound: No such submission, or not one that needs confirming.
        Conflict: Already confirmed (a link works once).
    """
    submission = await _submission(session, submission_id)
    if submission.confirmation is None or submission.erased_at is not None:
        raise NotFound("nothing to confirm")
    if submission.confirmation != "pending":
        raise Conflict("this link has already been used")
    return submission


async def confirm_submission(
    session: AsyncSession, *, submission_id: str, client_ip: str | None, user_agent: str | None
) -> Submission:
    """Double opt-in: record the confirmation and only now deliver the lead event that was held back.

    Appends a ``confirmed`` event (time, truncated address, user agent) for each purpose the person gave, marks the
    lead active, and delivers ``lead.created`` (or ``lead.updated`` for a person already confirmed before).

    Raises:
        NotFound: No such submission, or not one that needs confirming.
        Conflict: Already confirmed: a link works once.
    """
    # Lead first, then submission: the order erasure takes them in, so the two never deadlock on PostgreSQL.
    lead_id = (await _submission(session, submission_id)).lead_id
    lead = await session.scalar(select(Lead).where(Lead.id == lead_id).with_for_update()) if lead_id else None
    submission = await _submission(session, submission_id, for_update=True)
    if submission.confirmation is None or submission.erased_at is not None or lead is None or lead.erased_at:
        raise NotFound("nothing to confirm")
    if submission.confirmation != "pending":
        raise Conflict("this link has already been used")
    now = utcnow()
    states = await consent.current_states(session, lead_id=lead.id)
    given = [  # still given: not withdrawn (from the receipt, or through the CRM) since
        event
        for event, _ in await consent.events_of_submission(session, submission_id=submission.id)
        if event.state == "given" and states[event.purpose].state == "given"
    ]
    await consent.append_events(
        session,
        [
            {
                "workspace_id": submission.workspace_id,
                "lead_id": lead.id,
                "submission_id": submission.id,
                "notice_id": event.notice_id,
                "form_id": event.form_id,
                "purpose": event.purpose,
                "channel": event.channel,
                "state": "confirmed",
                "indication": "link",
                "page_url": None,
                "client_ip": client_ip,
                "user_agent": user_agent,
                "recorded_at": now,
            }
            for event in given
        ],
    )
    held = dict(submission.pending_event or {})
    data = dict(held.get("data", {}))
    changes = held.get("apply_to_lead")
    if changes:  # a known person: what they sent changes their lead only now
        lead.fields = {**lead.fields, **submission.fields}
        lead.name = changes.get("name") or lead.name
        lead.phone = changes.get("phone") or lead.phone
        lead.submission_count += 1
        lead.updated_at = now
        data["lead"] = {**data.get("lead", {}), "name": lead.name, "phone": lead.phone}
    first = lead.status == "pending"
    event_type = "lead.created" if first else "lead.updated"
    data["lead"] = {**data.get("lead", {}), "is_new": first}
    data["confirmation"] = {"confirmed_at": _stamp(now), "client_ip": client_ip, "user_agent": user_agent}
    data["consent"] = [
        *data.get("consent", []),
        *(
            {"purpose": e.purpose, "channel": e.channel, "state": "confirmed", "recorded_at": _stamp(now)}
            for e in given
        ),
    ]
    message = await delivery.enqueue(session, workspace_id=submission.workspace_id, event_type=event_type, payload=data)
    lead.status = "active"
    submission.confirmation = "confirmed"
    submission.confirmed_at = now
    submission.pending_event = None
    submission.event_type = event_type
    submission.message_id = message.id
    return submission
