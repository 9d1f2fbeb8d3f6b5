"""Times that clients send: they must say their time zone and be storable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from core.errors import FieldError, ValidationFailed

__all__ = ("aware_utc",)


@overload
def aware_utc(value: datetime, field: str) -> datetime: ...
@overload
def aware_utc(value: None, field: str) -> None: ...
@overload
def aware_utc(value: datetime | None, field: str) -> datetime | None: ...


def aware_utc(value: datetime | None, field: str) -> datetime | None:
    """``value`` in UTC; a time without a zone, or one that cannot be expressed in UTC, is a 422 naming ``field``."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed([FieldError(field, "timezone_required", "give a time zone, e.g. 2026-01-31T09:00:00Z")])
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValidationFailed([FieldError(field, "out_of_range", "the time is out of range")]) from exc
