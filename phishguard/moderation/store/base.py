"""The moderation store: what phishguard keeps about flagged messages and moderators' decisions.

One interface (:class:`Store`), two back ends with the same schema and the same test suite:
SQLite (embedded default, WAL, ``synchronous=FULL``) and PostgreSQL (psycopg 3). The interface is
synchronous and each instance holds one connection: the service calls it from one dedicated thread
per worker (``phishguard.moderation.runtime``), the CLI calls it directly.

Times are UNIX seconds (float, UTC). JSON-shaped fields are plain Python values (dict / list).

Guarantees every back end keeps:

* ``decide`` returns only after its transaction is committed (an acknowledged decision survives a
  crash), and it bumps ``lists_version`` in the same transaction;
* decisions are append-only (``reopen`` is a new decision, not a delete);
* ``add_flags`` writes a batch in one transaction (all or nothing);
* ``purge`` removes message texts, sender ids and sightings older than the cut-off, never decisions
  or domain statuses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ACTIONS",
    "ROLES",
    "Campaign",
    "Decision",
    "Delivery",
    "DomainStatus",
    "Event",
    "Flag",
    "FlagQuery",
    "NewFlag",
    "NotFound",
    "Page",
    "Sighting",
    "Store",
    "StoreError",
    "User",
]

Action = Literal["confirm", "dismiss", "reopen"]
ACTIONS: tuple[str, ...] = ("confirm", "dismiss", "reopen")
Role = Literal["viewer", "moderator", "admin"]
ROLES: tuple[str, ...] = ("viewer", "moderator", "admin")
FlagStatus = Literal["open", "confirmed", "dismissed"]


class StoreError(Exception):
    """The store cannot be reached or refused an operation (one line, for users)."""


class NotFound(StoreError):
    """The flag, user or campaign asked for does not exist."""


@dataclass(frozen=True, slots=True)
class NewFlag:
    """A suspicious/fraud verdict to record (built by the service from a verdict and its request)."""

    tenant: str
    message_id: str | None
    verdict: str  # suspicious | fraud
    score: float
    text: str | None  # full, redacted or None, per settings
    context: dict[str, Any]  # chat_id, sender_id, listing_id, marketplace_id, ... as sent
    reasons: list[dict[str, Any]]  # SPEC §1 reasons
    urls: list[dict[str, Any]]  # SPEC §1 urls
    models: dict[str, Any]
    rules_version: str
    categories: list[str]  # distinct reason categories
    brand: str | None  # first brand named by a reason or URL
    domains: list[str]  # registered domains of the non-official links
    campaign_keys: list[str]  # "domain:…", "path:…", "kit:…" (see campaigns.py)
    created_at: float


@dataclass(frozen=True, slots=True)
class Flag:
    """A recorded flag with its current status (the latest decision on it, if any)."""

    id: int
    tenant: str
    message_id: str | None
    verdict: str
    score: float
    text: str | None
    context: dict[str, Any]
    reasons: list[dict[str, Any]]
    urls: list[dict[str, Any]]
    models: dict[str, Any]
    rules_version: str
    categories: list[str]
    brand: str | None
    domains: list[str]
    campaign_keys: list[str]
    created_at: float
    status: FlagStatus = "open"
    decided_at: float | None = None
    decided_by: str | None = None


@dataclass(frozen=True, slots=True)
class FlagQuery:
    """Filters of the review queue; all optional, combined with AND. Newest first, keyset-paginated:
    ``before_id`` is the ``next`` of the previous page."""

    status: FlagStatus | None = None
    category: str | None = None
    brand: str | None = None
    domain: str | None = None  # registered domain of a link in the flag
    tenant: str | None = None
    campaign: str | None = None  # a campaign key
    since: float | None = None
    until: float | None = None
    min_score: float | None = None
    max_score: float | None = None
    limit: int = 50
    before_id: int | None = None
    after_id: int | None = None  # flags newer than this, the nearest first (a queue's previous item)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Flag]
    next: int | None  # pass as before_id for the next page; None: last page


@dataclass(frozen=True, slots=True)
class Decision:
    """One moderator decision (append-only history). ``flag_id`` is None for a decision made on a
    domain directly; ``domains`` are the registered domains it affected."""

    id: int
    flag_id: int | None
    action: Action
    moderator: str
    note: str
    domains: list[str]
    created_at: float


@dataclass(frozen=True, slots=True)
class DomainStatus:
    """A domain's standing from moderators: ``deny`` (confirmed fraud) or ``allow`` (dismissed)."""

    domain: str
    status: Literal["deny", "allow"]
    decision_id: int
    moderator: str
    flag_id: int | None
    decided_at: float


@dataclass(frozen=True, slots=True)
class Campaign:
    """Open flags sharing a campaign key."""

    key: str
    kind: str  # domain | path | kit
    label: str  # the key without its kind prefix, for display
    flags: int
    tenants: int
    first_seen: float
    last_seen: float
    max_score: float
    sample_flag_id: int


@dataclass(frozen=True, slots=True)
class Sighting:
    """A scanned message (any verdict) that carried a non-official domain: kept for re-judging."""

    domain: str
    tenant: str
    message_id: str | None
    context: dict[str, Any]
    verdict: str
    seen_at: float


@dataclass(frozen=True, slots=True)
class Event:
    """An entry of the decisions feed (and of the webhook outbox): ``kind`` is e.g.
    ``flag.decided``, ``domain.confirmed``, ``messages.rejudged``; ``tenant`` None = for everyone."""

    id: int
    kind: str
    tenant: str | None
    payload: dict[str, Any]
    created_at: float


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    created_at: float
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Delivery:
    """A webhook delivery waiting in the outbox."""

    id: int
    event_id: int
    endpoint: str  # the configured endpoint's name
    attempts: int
    next_at: float
    event: Event = field(repr=False, default=None)  # type: ignore[assignment]


class Store(ABC):
    """The moderation store. Not thread-safe: one instance per thread (see module doc)."""

    url: str  # the database URL, password masked (for messages)

    # -- life cycle
    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply the named migrations not yet applied (in order, each in its transaction); return
        their names. Safe to run from several processes at once."""

    @abstractmethod
    def applied_migrations(self) -> list[str]: ...

    @abstractmethod
    def ping(self) -> None:
        """Raise StoreError unless the store answers (``/readyz``)."""

    @abstractmethod
    def close(self) -> None: ...

    # -- flags (written by the service's single writer)
    @abstractmethod
    def add_flags(self, flags: Sequence[NewFlag], sightings: Sequence[Sighting] = ()) -> list[int]:
        """Insert flags (and sightings) in one transaction; return the new flag ids in order."""

    @abstractmethod
    def get_flag(self, flag_id: int) -> Flag:
        """The flag, or NotFound."""

    @abstractmethod
    def list_flags(self, query: FlagQuery) -> Page: ...

    @abstractmethod
    def update_flag_verdict(
        self, flag_id: int, verdict: str, score: float, reasons: list[dict[str, Any]], rules_version: str
    ) -> None:
        """Record a re-judged verdict of a stored flag (after a domain decision)."""

    # -- decisions (committed before returning)
    @abstractmethod
    def decide(
        self,
        *,
        action: Action,
        moderator: str,
        note: str = "",
        flag_ids: Sequence[int] = (),
        domains: Sequence[str] = (),
        events: Iterable[tuple[str, str | None, dict[str, Any]]] = (),
        now: float,
    ) -> list[Decision]:
        """Decide on flags (each flag's domains follow its decision) and/or on domains directly.

        ``confirm`` sets the domains to ``deny``; ``dismiss`` to ``allow``; ``reopen`` removes the
        moderators' standing of the domains and sets the flags back to ``open``. One decision row
        per flag (plus one for the direct domains, if any); the events (kind, tenant, payload) are
        appended to the feed and queued for every configured webhook endpoint — all in one
        transaction with the ``lists_version`` bump. NotFound if a flag id does not exist (nothing
        is written then)."""

    @abstractmethod
    def decisions(
        self,
        *,
        flag_id: int | None = None,
        after_id: int = 0,
        before_id: int | None = None,
        newest_first: bool = False,
        limit: int = 100,
    ) -> list[Decision]:
        """Decision history (the audit trail): ids in (after_id, before_id), oldest first unless
        ``newest_first``."""

    @abstractmethod
    def decided_flags(self, *, since: float | None = None) -> Iterable[tuple[Flag, Decision]]:
        """Flags whose latest decision is confirm or dismiss, with that decision (export-reviews)."""

    # -- the lists every worker applies
    @abstractmethod
    def lists_version(self) -> int:
        """A counter bumped by every decision (workers poll it and reload on change)."""

    @abstractmethod
    def domain_statuses(self) -> list[DomainStatus]: ...

    # -- campaigns
    @abstractmethod
    def campaigns(self, *, status: FlagStatus = "open", min_flags: int = 2, limit: int = 100) -> list[Campaign]:
        """Campaign keys shared by at least ``min_flags`` flags of the status, largest first."""

    @abstractmethod
    def campaign_flag_ids(self, key: str, *, status: FlagStatus = "open") -> list[int]: ...

    # -- re-judging
    @abstractmethod
    def flags_with_domain(self, domain: str, *, status: FlagStatus = "open") -> list[Flag]: ...

    @abstractmethod
    def sightings(self, domain: str, *, since: float) -> list[Sighting]: ...

    # -- the decisions feed and webhook outbox
    @abstractmethod
    def add_events(self, events: Iterable[tuple[str, str | None, dict[str, Any]]], *, now: float) -> list[int]:
        """Append events outside a decision (e.g. ``messages.rejudged``), queued for webhooks too."""

    @abstractmethod
    def events(self, *, after_id: int = 0, tenant: str | None = None, limit: int = 100) -> list[Event]:
        """The feed: events after ``after_id``, oldest first; with ``tenant``, that tenant's and the
        global ones."""

    @abstractmethod
    def due_deliveries(self, *, now: float, limit: int = 50) -> list[Delivery]: ...

    @abstractmethod
    def claim_deliveries(self, *, now: float, lease_s: float, limit: int = 50) -> list[Delivery]:
        """Due deliveries, leased to the caller for ``lease_s`` (others' polls skip them)."""

    @abstractmethod
    def delivery_done(self, delivery_id: int, *, now: float) -> None: ...

    @abstractmethod
    def delivery_failed(self, delivery_id: int, *, error: str, next_at: float | None) -> None:
        """Record a failed attempt; ``next_at`` None gives up (kept, marked failed)."""

    # -- users and their credentials
    @abstractmethod
    def add_user(self, name: str, role: Role, password_hash: str, *, now: float) -> User:
        """StoreError if the name is taken."""

    @abstractmethod
    def get_user(self, name: str) -> tuple[User, str]:
        """The user and their password hash; NotFound."""

    @abstractmethod
    def list_users(self) -> list[User]: ...

    @abstractmethod
    def set_password(self, name: str, password_hash: str) -> None: ...

    @abstractmethod
    def set_user_disabled(self, name: str, disabled: bool) -> None:
        """Disable (or enable again) a user: a disabled user's tokens stop working; NotFound."""

    @abstractmethod
    def add_token(self, token_sha256: str, user: str, *, kind: str, expires_at: float | None, now: float) -> None:
        """A session (``kind="session"``) or a moderator API key (``kind="key"``), stored by hash."""

    @abstractmethod
    def user_for_token(self, token_sha256: str, *, now: float) -> User | None:
        """The enabled user of an unexpired token, else None."""

    @abstractmethod
    def drop_token(self, token_sha256: str) -> None: ...

    # -- retention
    @abstractmethod
    def purge(self, *, before: float, now: float | None = None) -> dict[str, int]:
        """Blank texts and sender ids of flags created before ``before``, delete older sightings and
        sessions expired at ``now`` (default: the current time); return counts by what was purged
        (``flags``, ``sightings``, ``sessions``). Decisions and domains stay."""
