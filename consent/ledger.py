"""Where each person's consents stand as a batch is written, for the ``consent_state`` of the lead events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from consent import service as consent
from consent.models import ConsentEvent
from leads.models import Submission

if TYPE_CHECKING:
    from collections.abc import Collection

    from sqlalchemy.orm import Session

__all__ = ("ConsentLedger",)


class ConsentLedger:
    """Each lead's consent events: those stored before the batch, then the batch's own rows in arrival order."""

    def __init__(self, events: dict[str, list[ConsentEvent]], unconfirmed: set[str]) -> None:
        self._events = events
        self._unconfirmed = unconfirmed

    @classmethod
    def load(cls, session: Session, lead_ids: Collection[str]) -> ConsentLedger:
        """The stored events of these leads (people created by this batch have none: pass only the known ones)."""
        events: dict[str, list[ConsentEvent]] = {}
        unconfirmed: set[str] = set()
        if lead_ids:
            ids = sorted(lead_ids)
            stored = session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.lead_id.in_(ids))
                .order_by(ConsentEvent.recorded_at, ConsentEvent.id)
            )
            for event in stored:
                events.setdefault(event.lead_id, []).append(event)
            pending = session.scalars(
                select(Submission.id).where(Submission.lead_id.in_(ids), Submission.confirmation == "pending")
            )
            unconfirmed.update(pending)
        return cls(events, unconfirmed)

    def record(self, lead_id: str, rows: list[dict[str, Any]], *, unconfirmed: str | None) -> list[dict[str, Any]]:
        """Add one submission's consent rows; returns where the lead's purposes stand after it.

        Args:
            unconfirmed: The submission's id when it waits for a double opt-in confirmation (its rows count for
                nothing until then).
        """
        if unconfirmed is not None:
            self._unconfirmed.add(unconfirmed)
        history = self._events.setdefault(lead_id, [])
        history.extend(ConsentEvent(**row) for row in rows)
        return consent.state_summary(history, unconfirmed=self._unconfirmed)
