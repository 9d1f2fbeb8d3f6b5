"""Inline SVG charts drawn on the server: no script, no external asset, readable without colour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

__all__ = ("Chart", "Series", "last_days", "stacked_bars")

_WIDTH = 960
_HEIGHT = 200
_LEFT = 40
_BOTTOM = 24
_TOP = 10


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str


@dataclass(frozen=True)
class Chart:
    """The SVG, the totals per series (for the legend and for screen readers) and the busiest day's count."""

    svg: str
    totals: dict[str, int]
    peak: int


def last_days(today: date, count: int = 30) -> list[str]:
    """The ``count`` days up to and including ``today``, oldest first, as ``YYYY-MM-DD``."""
    return [(today - timedelta(days=offset)).isoformat() for offset in range(count - 1, -1, -1)]


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2 or 5 times a power of ten that is at least ``value`` (so the axis reads well)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def stacked_bars(title: str, days: list[str], series: list[Series], counts: dict[tuple[str, str], int]) -> Chart:
    """One bar per day, stacked by series, with a y axis, the first and last dates, and a title per bar."""
    totals = {s.key: sum(counts.get((day, s.key), 0) for day in days) for s in series}
    per_day = [sum(counts.get((day, s.key), 0) for s in series) for day in days]
    peak = max(per_day, default=0)
    top = _nice_ceiling(max(peak, 1))
    plot_width = _WIDTH - _LEFT - 8
    plot_height = _HEIGHT - _TOP - _BOTTOM
    slot = plot_width / max(len(days), 1)
    bar = max(slot * 0.7, 1.0)
    summary = ", ".join(f"{totals[s.key]} {s.label.lower()}" for s in series)
    parts = [
        (
            f'<svg class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" aria-labelledby="{_id(title)}" '
            f'xmlns="http://www.w3.org/2000/svg">'
        ),
        f'<title id="{_id(title)}">{escape(title)}: {escape(summary)} in {len(days)} days</title>',
    ]
    for fraction in (0, 0.5, 1) if top % 2 == 0 else (0, 1):
        y = _TOP + plot_height * (1 - fraction)
        parts.append(f'<line x1="{_LEFT}" x2="{_WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        label = f"{top * fraction:g}"
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{label}</text>')
    for index, day in enumerate(days):
        x = _LEFT + slot * index + (slot - bar) / 2
        y = _TOP + plot_height
        tip = ", ".join(f"{counts.get((day, s.key), 0)} {s.label.lower()}" for s in series)
        parts.append(f"<g><title>{escape(day)}: {escape(tip)}</title>")
        for s in series:
            value = counts.get((day, s.key), 0)
            if not value:
                continue
            height = plot_height * value / top
            y -= height
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" fill="{escape(s.colour)}"/>'
            )
        parts.append("</g>")
    if days:
        parts.append(f'<text x="{_LEFT}" y="{_HEIGHT - 6}" class="axis">{escape(days[0])}</text>')
        parts.append(
            f'<text x="{_WIDTH - 8}" y="{_HEIGHT - 6}" text-anchor="end" class="axis">{escape(days[-1])}</text>'
        )
    parts.append("</svg>")
    return Chart(svg="".join(parts), totals=totals, peak=peak)


def _id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())
