"""Moderation settings (``moderation:`` in the config file, ``PHISHGUARD_MODERATION__*`` in the
environment); the store is chosen by the top-level ``database_url`` (``PHISHGUARD_DATABASE_URL``).

>>> m = ModerationSettings()
>>> m.store_text, m.retention_days, m.poll_interval_s
('full', 30, 1.0)
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

__all__ = ["DEFAULT_DATABASE_URL", "ModerationSettings", "WebhookEndpoint"]

DEFAULT_DATABASE_URL = "sqlite:///phishguard.db"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookEndpoint(_Strict):
    """Where decisions are announced (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
    ``webhook-signature: v1,<base64 HMAC-SHA256>``)."""

    name: str = Field(min_length=1, max_length=100, description="Name of the endpoint (in logs and the outbox).")
    url: HttpUrl = Field(description="HTTPS URL the events are POSTed to (through the SSRF-safe client).")
    secret: str = Field(min_length=8, description="Signing secret, `whsec_<base64>` as Standard Webhooks writes it.")
    tenant: str | None = Field(None, description="Only this tenant's events (unset: every event).")


class ModerationSettings(_Strict):
    """The review queue, its store writes, the lists moderators build and who is told."""

    enabled: bool = Field(True, description="Record flags and serve the review API and /moderation pages.")
    store_text: Literal["full", "redacted", "none"] = Field(
        "full", description="Message text kept with a flag: as sent, with card/phone numbers and e-mails masked, or none."
    )
    queue_size: int = Field(
        10000, ge=1, description="Flags waiting for the store per worker; more are dropped and counted (metrics)."
    )
    batch_size: int = Field(200, ge=1, description="Most flags the writer stores in one transaction.")
    write_linger_s: float = Field(
        0.05, ge=0, le=5, description="The flag writer waits this long for more flags before a commit (one commit for many)."
    )
    write_idle_chunk: int = Field(
        0, ge=0, description="If set, under load the flag writer stores this many flags at a time, each time the worker "
        "has no request in hand (a shorter p99, a longer p50: docs/service.md); 0: it writes whenever flags are ready."
    )
    write_idle_wait_s: float = Field(
        1.0, ge=0, le=60, description="With write_idle_chunk: the longest a flag waits for such a moment; then all "
        "waiting flags are written at once."
    )
    retry_s: float = Field(1.0, gt=0, description="Seconds the flag writer waits before retrying a failed write.")
    poll_interval_s: float = Field(
        1.0, gt=0, description="Seconds between a worker's checks for new moderator decisions."
    )
    sightings: bool = Field(
        True, description="Keep (domain, message id, context) of scanned messages with non-official links, for re-judging."
    )
    retention_days: int = Field(
        30, ge=1, description="Days message texts, sender ids and sightings are kept; decisions and domains stay."
    )
    purge_interval_s: float = Field(
        3600.0, gt=0, description="Seconds between a worker's automatic purges of data past retention_days."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins for one user name (per worker) before logins for it pause."
    )
    login_pause_s: float = Field(300.0, gt=0, description="How long logins pause after too many failures (seconds).")
    session_ttl_s: int = Field(43200, ge=60, description="Lifetime of a moderator's login session (seconds).")
    secure_cookies: bool = Field(
        False, description="Mark the session cookie Secure (set when the pages are served over HTTPS)."
    )
    webhooks: list[WebhookEndpoint] = Field(default_factory=list, description="Endpoints told of decisions.")
    webhook_max_attempts: int = Field(8, ge=1, description="Delivery attempts per event and endpoint before giving up.")
