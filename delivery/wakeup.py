"""In-process wake-up of delivery workers when a transaction with new messages commits."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("notify_workers", "subscribe")

_listeners: list[Callable[[], None]] = []


def subscribe(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` on every notification; returns the function that unsubscribes it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def notify_workers() -> None:
    """Wake every worker in this process. Workers in other processes find the rows by polling."""
    for listener in _listeners.copy():  # a listener may unsubscribe while we iterate
        listener()
