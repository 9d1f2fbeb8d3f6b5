"""What a provider's pull API is to the poller: its credentials, its base URL setting, its windows and how often it
may be called, and how one window of its leads is read (``fetch``, page by page).

A provider's ``fetch`` raises ``PullError`` for anything that keeps the window from being taken whole (the provider
refused, answered nothing readable, could not be reached); the window is then taken again later. Its message is
shown to the workspace: it never holds a credential, nor the URL (which may hold one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import httpx

from core.errors import FieldError, ValidationFailed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from core.settings import Settings

__all__ = (
    "IST",
    "Page",
    "PullApi",
    "PullCall",
    "PullError",
    "Window",
    "ist_time",
    "parse_ist",
    "read",
)

IST = timezone(timedelta(hours=5, minutes=30), "IST")
"""India Standard Time (no daylight saving): the Indian portals take and give their times in it."""
MAX_ANSWER_BYTES = 8 * 1024 * 1024
"""The most of one answer that is read: more is not a page of leads."""

Page = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Window:
    """A span of time whose leads are asked for: from ``start`` to ``end`` (aware, UTC, whole seconds)."""

    start: datetime
    end: datetime


class PullError(Exception):
    """The window could not be taken; it is taken again at the next pull (or once ``blocked_for`` has passed)."""

    def __init__(self, message: str, *, blocked_for: timedelta | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.blocked_for = blocked_for


@dataclass(frozen=True, slots=True)
class PullCall:
    """One window to read: the client to read it with, where, and as whom."""

    client: httpx.AsyncClient
    base_url: str
    credentials: dict[str, str]
    window: Window


@dataclass(frozen=True, slots=True)
class PullApi:
    """A provider's pull API."""

    label: str
    credentials: tuple[str, ...]
    """The keys a source gives under ``pull``; all are required."""
    base_url: Callable[[Settings], str]
    """The operator's setting that says where the API is."""
    fetch: Callable[[PullCall], AsyncIterator[Page]]
    """The window's leads, a page at a time (each page is committed before the next is asked for)."""
    received_at: Callable[[dict[str, Any]], datetime | None]
    """When the provider received a lead (its records before the window are left out), if it says."""
    max_span: timedelta
    """The longest window the provider answers."""
    min_interval: timedelta = timedelta(0)
    """The least time between two calls the provider allows."""
    default_interval: timedelta = timedelta(minutes=10)
    overlap: timedelta = timedelta(minutes=10)
    """How far before the cursor the next window starts: a lead the provider recorded late is still seen."""
    backfill: timedelta = timedelta(days=1)
    """How far back a new source's first window starts."""
    windows_per_poll: int = 1
    """How many windows one poll may walk when it is behind (1 where each call must wait ``min_interval``)."""

    def credentials_from(self, given: dict[str, str]) -> dict[str, str]:
        """Each credential the provider takes, from what a source was given (and nothing else).

        Raises:
            ValidationFailed: One missing or empty, or one the provider does not take.
        """
        names = ", ".join(self.credentials)
        problems = [
            FieldError(f"pull.{name}", "required", f"{self.label} pulls need {names}")
            for name in self.credentials
            if not str(given.get(name) or "").strip()
        ]
        problems += [
            FieldError(f"pull.{name}", "unknown", f"{self.label} takes only {names}")
            for name in given
            if name not in self.credentials
        ]
        if problems:
            raise ValidationFailed(problems)
        return {name: str(given[name]).strip() for name in self.credentials}

    def interval(self, configured_seconds: int) -> timedelta:
        """The time between two pulls: the operator's (0: the provider's default), never below the minimum."""
        chosen = timedelta(seconds=configured_seconds) if configured_seconds else self.default_interval
        return max(chosen, self.min_interval)


def ist_time(value: datetime) -> datetime:
    """``value`` (aware) in IST."""
    return value.astimezone(IST)


def parse_ist(text: object, *formats: str) -> datetime | None:
    """A provider's IST time in one of ``formats``, as UTC; None when it is none of them."""
    for pattern in formats:
        try:
            return datetime.strptime(str(text).strip(), pattern).replace(tzinfo=IST).astimezone(UTC)
        except ValueError:
            continue
    return None


async def read(client: httpx.AsyncClient, label: str, method: str, url: str, **request: Any) -> tuple[int, bytes, str]:
    """(status, body, content type) of one request to a provider, the body read up to ``MAX_ANSWER_BYTES``.

    Raises:
        PullError: The provider could not be reached, or answered too much.
    """
    try:
        async with client.stream(method, url, **request) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise PullError(f"{label} answered more than {MAX_ANSWER_BYTES // 1_048_576} MiB")
            return response.status_code, bytes(body), response.headers.get("content-type", "")
    except httpx.TimeoutException:
        raise PullError(f"{label} did not answer in time") from None
    except httpx.HTTPError as exc:
        # The exception's text may hold the URL, and the URL the key: name only what kind of failure it was.
        raise PullError(f"{label} could not be reached ({type(exc).__name__})") from None
