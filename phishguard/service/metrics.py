"""Prometheus metrics, one registry per app (so tests can build many apps).

With several workers, ``phishguard serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker
imports prometheus-client; values then live in per-process files and ``/metrics`` aggregates all
workers (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

# Scans take tens of microseconds; the buckets reach down there.
_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """Request counts and latencies by endpoint and status, verdicts by verdict and rule, versions."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "phishguard_http_requests", "HTTP requests answered.", ["endpoint", "status"], registry=r
        )
        self.latency = Histogram(
            "phishguard_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["endpoint", "status"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.verdicts = Counter("phishguard_verdicts", "Messages scanned, by verdict.", ["verdict"], registry=r)
        self.rules = Counter(
            "phishguard_rule_hits", "Reasons reported, by rule and category.", ["rule", "category"], registry=r
        )
        self.rejected = Counter(
            "phishguard_rejected_requests", "Requests refused by a limit, by error code.", ["code"], registry=r
        )
        self.in_flight = Gauge(
            "phishguard_http_in_flight", "Requests being handled.", registry=r, multiprocess_mode="livesum"
        )
        self.info = Gauge(
            "phishguard_rules_info",
            "Versions in use (value 1): rules and models.",
            ["rules_version", "models"],
            registry=r,
            multiprocess_mode="liveall",
        )
        self.flags = Counter(
            "phishguard_flags",
            "Flags for the review queue: recorded in the store, retried after a store error, dropped (queue full).",
            ["outcome"],
            registry=r,
        )
        self.flag_queue = Gauge(
            "phishguard_flag_queue", "Flags waiting for the store.", registry=r, multiprocess_mode="livesum"
        )
        self._info_labels: tuple[str, str] | None = None
        # labels() costs a lock and a dict lookup per call; the label sets are few, so keep the children
        self._request_children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._verdict_children: dict[str, Any] = {}
        self._rule_children: dict[tuple[str, str], Any] = {}
        self._rejected_children: dict[str, Any] = {}

    def set_versions(self, rules_version: str, models: Iterable[str] = ()) -> None:
        labels = (rules_version, ",".join(sorted(models)) or "none")
        if self._info_labels is not None and self._info_labels != labels:
            self.info.labels(*self._info_labels).set(0)
        self.info.labels(*labels).set(1)
        self._info_labels = labels

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        children = self._request_children.get((endpoint, status))
        if children is None:
            s = str(status)
            children = self.requests.labels(endpoint, s), self.latency.labels(endpoint, s)
            self._request_children[(endpoint, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_rejected(self, code: str) -> None:
        child = self._rejected_children.get(code)
        if child is None:
            child = self._rejected_children[code] = self.rejected.labels(code)
        child.inc()

    def count_flags(self, outcome: str, n: int = 1) -> None:
        self.flags.labels(outcome).inc(n)

    def count_verdict(self, verdict: dict[str, Any]) -> None:
        name = verdict["verdict"]
        child = self._verdict_children.get(name)
        if child is None:
            child = self._verdict_children[name] = self.verdicts.labels(name)
        child.inc()
        for reason in verdict["reasons"]:
            key = (reason["rule"], reason["category"])
            child = self._rule_children.get(key)
            if child is None:
                child = self._rule_children[key] = self.rules.labels(*key)
            child.inc()

    def render(self) -> bytes:
        """The exposition text: this registry, or every worker's files in multiprocess mode."""
        if multiprocess_dir():
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
