"""Prometheus metrics of one process: submissions, ingest latency, deliveries, attempts, rate-limit refusals.

Each app has its own registry (tests build many apps in one process). The delivery queue's depth and the age of
its oldest due delivery are read from the database when ``/metrics`` is scraped, so they are true for the whole
installation, whichever process is asked.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ("CONTENT_TYPE", "Metrics")

# Litestar appends "; charset=utf-8" to every text/* media type itself: naming it here sent it twice.
CONTENT_TYPE = "text/plain; version=0.0.4"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The counters, histograms and gauges of one process, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.submissions = Counter(
            "leadwire_submissions", "Submissions stored, by verdict.", ["verdict"], registry=self.registry
        )
        self.ingest_seconds = Histogram(
            "leadwire_ingest_seconds",
            "Time from a submission's body being read to its answer (committed), in seconds.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "leadwire_rate_limited", "Submissions refused by a rate limit, by limit.", ["limit"], registry=self.registry
        )
        self.rate_limit_evicted = Counter(
            "leadwire_rate_limit_evicted",
            "In-process rate-limit counts forgotten before they expired, to stay within "
            "LEADWIRE_RATE_LIMIT_MEMORY_CAPACITY (the least recently hit first).",
            registry=self.registry,
        )
        self.deliveries = Counter(
            "leadwire_delivery_attempts",
            "Webhook delivery attempts by outcome: success, http_error (an answer but not 2xx), network_error.",
            ["outcome"],
            registry=self.registry,
        )
        self.attempt_seconds = Histogram(
            "leadwire_delivery_attempt_seconds",
            "Duration of one webhook POST, in seconds.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "leadwire_delivery_queue_depth", "Deliveries pending (due now or later).", registry=self.registry
        )
        self.oldest_due_seconds = Gauge(
            "leadwire_delivery_oldest_due_seconds",
            "How long the oldest due delivery has been waiting, in seconds (0 when none is due).",
            registry=self.registry,
        )

    def record_attempt(self, *, status_code: int | None, duration_ms: int) -> None:
        """Count one delivery attempt."""
        if status_code is None:
            outcome = "network_error"
        elif 200 <= status_code < 300:  # noqa: PLR2004
            outcome = "success"
        else:
            outcome = "http_error"
        self.deliveries.labels(outcome).inc()
        self.attempt_seconds.observe(duration_ms / 1000)

    def exposition(self) -> bytes:
        """Everything, in the Prometheus text format."""
        return generate_latest(self.registry)
