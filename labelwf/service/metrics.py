"""Prometheus metrics of the service: its HTTP latency and fires, and the database's deadlines and outbox.

The counters and the histogram live in the process (one registry per application); pending
timers, the lateness of the most overdue one and the letters by status are read from the
database when scraped, so that every process — servers and daemons — is seen alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..clock import Clock
from ..store import Database, reads


class _Portfolio(Collector):
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.db.read() as conn:
            pending, soonest = reads.pending_summary(conn)
            letters = reads.letter_status_counts(conn)
        yield GaugeMetricFamily("labelwf_timers_pending", "Pending timers", value=pending)
        late = _late(soonest, self.clock.now())
        yield GaugeMetricFamily(
            "labelwf_timer_overdue_seconds", "How long the most overdue pending timer has been due", value=late
        )
        family = GaugeMetricFamily("labelwf_letters", "Letters of the outbox by status", labels=["status"])
        for status, count in sorted(letters.items()):
            family.add_metric([status], count)
        yield family


def _late(soonest: datetime | None, now: datetime) -> float:
    return max(0.0, (now - soonest).total_seconds()) if soonest is not None else 0.0


class Metrics:
    """The metrics of one application, in its own registry."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "labelwf_http_request_seconds",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.fires = Counter(
            "labelwf_api_fires",
            "Transitions asked through the API by trigger and outcome",
            ["trigger", "outcome"],
            registry=self.registry,
        )
        self.registry.register(_Portfolio(db, clock))
