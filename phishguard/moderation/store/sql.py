"""The SQL store shared by both back ends: every query is here, written once.

A back end (``sqlite.py``, ``postgres.py``) is a subclass that opens the connection and names its
:class:`Dialect`: the handful of words and statements the two SQL dialects spell differently. The
queries use ``?`` placeholders (rewritten to ``%s`` for psycopg), explicit transactions (the
connection is in autocommit mode and every write is ``BEGIN`` … ``COMMIT``), tuples as rows.

Two orderings matter to readers that poll by id, and both hold on PostgreSQL too, where sequence
values are not allocated in commit order: every transaction that appends events or decisions first
updates the ``feed`` row of ``meta`` (a row lock held until commit), so ids of the feed and of the
decisions grow in commit order, and ``lists_version`` is a counter row bumped in the same decision
transaction (never ``max(id)``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Self

from ...jsonfast import dumps
from .base import (
    ACTIONS,
    ROLES,
    Action,
    Campaign,
    Decision,
    Delivery,
    DomainStatus,
    Event,
    Flag,
    FlagQuery,
    FlagStatus,
    NewFlag,
    NotFound,
    Page,
    Role,
    Sighting,
    Store,
    StoreError,
    User,
)
from .migrations import BOOTSTRAP, MIGRATIONS, statements

__all__ = ["Dialect", "SqlStore", "mask_password", "one_line"]

#: A flag's status after each action, and the moderators' standing of its domains (None: removed).
STATUS_AFTER: dict[str, FlagStatus] = {"confirm": "confirmed", "dismiss": "dismissed", "reopen": "open"}
DOMAIN_AFTER: dict[str, str | None] = {"confirm": "deny", "dismiss": "allow", "reopen": None}
TOKEN_KINDS = ("session", "key")
#: Keys of a flag's context removed by ``purge`` (personal data); the rest (chat, listing) stays.
PURGED_CONTEXT_KEYS = ("sender_id",)
#: The child tables the queue filters use: (table, column) -> the NewFlag field listing the values.
_FLAG_CHILDREN: dict[tuple[str, str], str] = {
    ("flag_categories", "category"): "categories",
    ("flag_domains", "domain"): "domains",
    ("flag_campaigns", "key"): "campaign_keys",
}
_EXPORT_PAGE = 500
_MAX_ERROR_CHARS = 1000

_FLAG_COLUMNS = (
    "f.id, f.tenant, f.message_id, f.verdict, f.score, f.text, f.context, f.reasons, f.urls, f.models,"
    " f.rules_version, f.categories, f.brand, f.domains, f.campaign_keys, f.created_at, f.status,"
    " f.decided_at, f.decided_by"
)
_DECISION_COLUMNS = "d.id, d.flag_id, d.action, d.moderator, d.note, d.domains, d.created_at"
_USER_COLUMNS = "u.name, u.role, u.created_at, u.disabled"
_EVENT_COLUMNS = "e.id, e.kind, e.tenant, e.payload, e.created_at"
_N_FLAG = 19
_N_DECISION = 7


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the SQL of two back ends."""

    name: str
    id_type: str  # auto-incremented 64-bit primary key
    float_type: str
    begin_write: str  # starts a write transaction that holds the write lock it needs
    placeholder: str  # the driver's positional parameter marker
    table_exists: str  # one ? parameter: the table name; a row if it exists
    migration_lock: str | None  # serializes migrate() across processes (None: begin_write does)
    driver_error: type[Exception]
    skip_locked: str = ""  # appended to a SELECT that claims rows other transactions may hold

    def words(self) -> dict[str, str]:
        """The placeholders of the migration scripts."""
        return {"id": self.id_type, "float": self.float_type}

    def sql(self, query: str) -> str:
        """``query`` with the driver's parameter marker."""
        return _with_placeholder(query, self.placeholder)


@lru_cache(maxsize=512)
def _with_placeholder(query: str, marker: str) -> str:
    return query if marker == "?" else query.replace("?", marker)


def one_line(error: BaseException) -> str:
    """The first non-empty line of an error's message.

    >>> one_line(ValueError("connection failed\\n  is the server running?"))
    'connection failed'
    """
    for line in str(error).splitlines():
        if line.strip():
            return line.strip()
    return type(error).__name__


def mask_password(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, for messages.

    >>> mask_password("postgresql://bob:s3cret@db:5432/pg")
    'postgresql://bob:***@db:5432/pg'
    >>> mask_password("postgresql:///pg?host=/run/postgresql")
    'postgresql:///pg?host=/run/postgresql'
    """
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostpart = rest.partition("@")
    if not sep or not at or "/" in userinfo or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{hostpart}"


#: JSON columns, written compactly in the order given (orjson where it can: see phishguard/jsonfast.py).
_dump = dumps


def _flag(row: Sequence[Any]) -> Flag:
    (
        fid,
        tenant,
        message_id,
        verdict,
        score,
        text,
        context,
        reasons,
        urls,
        models,
        rules_version,
        categories,
        brand,
        domains,
        campaign_keys,
        created_at,
        status,
        decided_at,
        decided_by,
    ) = row[:_N_FLAG]
    return Flag(
        id=fid, tenant=tenant, message_id=message_id, verdict=verdict, score=score, text=text,
        context=json.loads(context), reasons=json.loads(reasons), urls=json.loads(urls),
        models=json.loads(models), rules_version=rules_version, categories=json.loads(categories),
        brand=brand, domains=json.loads(domains), campaign_keys=json.loads(campaign_keys),
        created_at=created_at, status=status, decided_at=decided_at, decided_by=decided_by,
    )  # fmt: skip


def _decision(row: Sequence[Any]) -> Decision:
    did, flag_id, action, moderator, note, domains, created_at = row[:_N_DECISION]
    return Decision(did, flag_id, action, moderator, note, json.loads(domains), created_at)


def _user(row: Sequence[Any]) -> User:
    name, role, created_at, disabled = row[:4]
    return User(name=name, role=role, created_at=created_at, disabled=bool(disabled))


def _event(row: Sequence[Any]) -> Event:
    eid, kind, tenant, payload, created_at = row[:5]
    return Event(eid, kind, tenant, json.loads(payload), created_at)


def _flag_filters(q: FlagQuery) -> tuple[list[str], list[Any]]:
    """WHERE conditions (on ``flags f``) and their parameters for the queue's filters."""
    conds: list[str] = []
    params: list[Any] = []

    def add(cond: str, value: Any) -> None:
        if value is not None:
            conds.append(cond)
            params.append(value)

    add("f.status = ?", q.status)
    add("f.id IN (SELECT flag_id FROM flag_categories WHERE category = ?)", q.category)
    add("f.brand = ?", q.brand)
    add("f.id IN (SELECT flag_id FROM flag_domains WHERE domain = ?)", q.domain)
    add("f.tenant = ?", q.tenant)
    add("f.id IN (SELECT flag_id FROM flag_campaigns WHERE key = ?)", q.campaign)
    add("f.created_at >= ?", q.since)
    add("f.created_at < ?", q.until)
    add("f.score >= ?", q.min_score)
    add("f.score <= ?", q.max_score)
    add("f.id < ?", q.before_id)
    add("f.id > ?", q.after_id)
    return conds, params


class SqlStore(Store):
    """:class:`Store` on a DB-API connection in autocommit mode; subclasses open it."""

    dialect: Dialect

    def __init__(self, url: str, *, webhook_endpoints: Sequence[str] = ()) -> None:
        self.url = url
        self.webhook_endpoints: tuple[str, ...] = tuple(dict.fromkeys(webhook_endpoints))
        self._conn: Any = self._connect()

    # -- what a back end provides
    def _connect(self) -> Any:
        """A new connection in autocommit mode (StoreError with one line if impossible)."""
        raise NotImplementedError

    def _is_broken(self, conn: Any) -> bool:
        """Whether the connection is lost (then the next operation reconnects)."""
        return False

    # -- plumbing
    def _error(self, error: BaseException) -> StoreError:
        return StoreError(f"{self.url}: {one_line(error)}")

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Driver errors become StoreError with one line."""
        try:
            yield
        except self.dialect.driver_error as e:
            raise self._error(e) from e

    def _connection(self) -> Any:
        if self._conn is None:
            raise StoreError(f"{self.url}: the store is closed")
        if self._is_broken(self._conn):
            self._conn.close()
            self._conn = None
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """A write transaction: committed on success, rolled back on any error."""
        with self._translated():
            conn = self._connection()
            conn.execute(self.dialect.begin_write)
            try:
                yield
                conn.execute("COMMIT")
            except BaseException:
                self._rollback(conn)
                raise

    def _rollback(self, conn: Any) -> None:
        try:
            conn.execute("ROLLBACK")
        except self.dialect.driver_error:
            pass  # the connection is gone: the server rolls back itself

    def _x(self, query: str, params: Sequence[Any] = ()) -> Any:
        """Execute one statement; the cursor."""
        return self._connection().execute(self.dialect.sql(query), tuple(params))

    def _many(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(r) for r in rows]
        if rows:
            with closing(self._connection().cursor()) as cur:
                cur.executemany(self.dialect.sql(query), rows)

    def _one(self, query: str, params: Sequence[Any] = ()) -> Any:
        return self._x(query, params).fetchone()

    def _all(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._x(query, params).fetchall()

    def _read_one(self, query: str, params: Sequence[Any] = ()) -> Any:
        with self._translated():
            return self._one(query, params)

    def _read_all(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._translated():
            return self._all(query, params)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- life cycle
    def migrate(self) -> list[str]:
        words = self.dialect.words()
        with self._transaction():
            self._lock_migrations()
            for stmt in statements(BOOTSTRAP, **words):
                self._x(stmt)
        applied: list[str] = []
        for name, script in MIGRATIONS:
            with self._transaction():
                self._lock_migrations()
                if self._one("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)) is not None:
                    continue
                for stmt in statements(script, **words):
                    self._x(stmt)
                self._x("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
            applied.append(name)
        return applied

    def _lock_migrations(self) -> None:
        if self.dialect.migration_lock:
            self._x(self.dialect.migration_lock)

    def applied_migrations(self) -> list[str]:
        if self._read_one(self.dialect.table_exists, ("schema_migrations",)) is None:
            return []
        rows = self._read_all("SELECT name FROM schema_migrations ORDER BY name")
        return [r[0] for r in rows]

    def ping(self) -> None:
        self._read_one("SELECT 1")

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    # -- flags
    def add_flags(self, flags: Sequence[NewFlag], sightings: Sequence[Sighting] = ()) -> list[int]:
        ids: list[int] = []
        children: dict[tuple[str, str], list[tuple[Any, int]]] = {key: [] for key in _FLAG_CHILDREN}
        with self._transaction():
            for flag in flags:
                fid = self._insert_flag(flag)
                ids.append(fid)
                for (table, column), rows in children.items():
                    rows += [
                        (value, fid) for value in dict.fromkeys(getattr(flag, _FLAG_CHILDREN[table, column]))
                    ]
            for (table, column), rows in children.items():  # one batch per table: few round trips
                self._many(f"INSERT INTO {table} ({column}, flag_id) VALUES (?, ?)", rows)
            self._many(
                "INSERT INTO sightings (domain, tenant, message_id, context, verdict, seen_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (s.domain, s.tenant, s.message_id, _dump(s.context), s.verdict, s.seen_at)
                    for s in sightings
                ],
            )
        return ids

    def _insert_flag(self, f: NewFlag) -> int:
        (fid,) = self._one(
            "INSERT INTO flags (tenant, message_id, verdict, score, text, context, reasons, urls, models,"
            " rules_version, categories, brand, domains, campaign_keys, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (f.tenant, f.message_id, f.verdict, f.score, f.text, _dump(f.context), _dump(f.reasons),
             _dump(f.urls), _dump(f.models), f.rules_version, _dump(f.categories), f.brand,
             _dump(f.domains), _dump(f.campaign_keys), f.created_at),
        )  # fmt: skip
        return int(fid)

    def get_flag(self, flag_id: int) -> Flag:
        row = self._read_one(f"SELECT {_FLAG_COLUMNS} FROM flags f WHERE f.id = ?", (flag_id,))
        if row is None:
            raise NotFound(f"flag {flag_id} not found")
        return _flag(row)

    def _select_flags(self, q: FlagQuery, *, limit: int | None) -> list[Flag]:
        conds, params = _flag_filters(q)
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        tail = ""
        if limit is not None:
            tail = " LIMIT ?"
            params.append(limit)
        order = "ASC" if q.after_id is not None else "DESC"  # after_id: the nearest newer ones first
        rows = self._read_all(f"SELECT {_FLAG_COLUMNS} FROM flags f{where} ORDER BY f.id {order}{tail}", params)
        return [_flag(r) for r in rows]

    def list_flags(self, query: FlagQuery) -> Page:
        if query.limit < 1:
            raise ValueError("limit must be at least 1")
        items = self._select_flags(query, limit=query.limit + 1)
        if len(items) > query.limit:
            items = items[: query.limit]
            return Page(items, items[-1].id)
        return Page(items, None)

    def update_flag_verdict(
        self, flag_id: int, verdict: str, score: float, reasons: list[dict[str, Any]], rules_version: str
    ) -> None:
        with self._transaction():
            cur = self._x(
                "UPDATE flags SET verdict = ?, score = ?, reasons = ?, rules_version = ? WHERE id = ?",
                (verdict, score, _dump(reasons), rules_version, flag_id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"flag {flag_id} not found")

    # -- decisions
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
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}: use one of {', '.join(ACTIONS)}")
        flag_ids = list(dict.fromkeys(flag_ids))
        domains = list(dict.fromkeys(domains))
        if not flag_ids and not domains:
            raise ValueError("nothing to decide: give flag ids or domains")
        events = list(events)
        made: list[Decision] = []
        with self._transaction():
            self._lock_feed()
            self._x("UPDATE meta SET value = value + 1 WHERE key = 'lists_version'")
            for flag_id in flag_ids:
                made.append(self._decide_flag(flag_id, action, moderator, note, now))
            if domains:
                made.append(self._record_decision(None, domains, action, moderator, note, now))
            self._append_events(events, now)
        return made

    def _lock_feed(self) -> None:
        """Serialize the writers of decisions and events until commit (ids in commit order)."""
        self._x("UPDATE meta SET value = value + 1 WHERE key = 'feed'")

    def _decide_flag(self, flag_id: int, action: Action, moderator: str, note: str, now: float) -> Decision:
        row = self._one("SELECT domains FROM flags WHERE id = ?", (flag_id,))
        if row is None:
            raise NotFound(f"flag {flag_id} not found")
        self._x(
            "UPDATE flags SET status = ?, decided_at = ?, decided_by = ? WHERE id = ?",
            (STATUS_AFTER[action], now, moderator, flag_id),
        )
        return self._record_decision(flag_id, json.loads(row[0]), action, moderator, note, now)

    def _record_decision(
        self, flag_id: int | None, domains: list[str], action: Action, moderator: str, note: str, now: float
    ) -> Decision:
        (did,) = self._one(
            "INSERT INTO decisions (flag_id, action, moderator, note, domains, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (flag_id, action, moderator, note, _dump(domains), now),
        )
        status = DOMAIN_AFTER[action]
        for domain in domains:
            if status is None:
                self._x("DELETE FROM domain_status WHERE domain = ?", (domain,))
            else:
                self._x(
                    "INSERT INTO domain_status (domain, status, decision_id, moderator, flag_id, decided_at)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (domain) DO UPDATE SET status = excluded.status,"
                    " decision_id = excluded.decision_id, moderator = excluded.moderator,"
                    " flag_id = excluded.flag_id, decided_at = excluded.decided_at",
                    (domain, status, did, moderator, flag_id, now),
                )
        return Decision(int(did), flag_id, action, moderator, note, list(domains), now)

    def decisions(
        self,
        *,
        flag_id: int | None = None,
        after_id: int = 0,
        before_id: int | None = None,
        newest_first: bool = False,
        limit: int = 100,
    ) -> list[Decision]:
        cond = "d.id > ?"
        params: list[Any] = [after_id]
        if before_id is not None:
            cond += " AND d.id < ?"
            params.append(before_id)
        if flag_id is not None:
            cond += " AND d.flag_id = ?"
            params.append(flag_id)
        order = "DESC" if newest_first else "ASC"
        rows = self._read_all(
            f"SELECT {_DECISION_COLUMNS} FROM decisions d WHERE {cond} ORDER BY d.id {order} LIMIT ?",
            [*params, limit],
        )
        return [_decision(r) for r in rows]

    def decided_flags(self, *, since: float | None = None) -> Iterator[tuple[Flag, Decision]]:
        cond, extra = ("", []) if since is None else (" AND d.created_at >= ?", [since])
        query = (
            f"SELECT {_FLAG_COLUMNS}, {_DECISION_COLUMNS} FROM flags f"
            " JOIN decisions d ON d.id = (SELECT MAX(id) FROM decisions WHERE flag_id = f.id)"
            f" WHERE f.status IN ('confirmed', 'dismissed') AND f.id > ?{cond} ORDER BY f.id LIMIT ?"
        )
        last = 0
        while True:  # keyset pages: no cursor stays open between the caller's steps
            rows = self._read_all(query, [last, *extra, _EXPORT_PAGE])
            for row in rows:
                yield _flag(row), _decision(row[_N_FLAG:])
            if len(rows) < _EXPORT_PAGE:
                return
            last = rows[-1][0]

    # -- lists
    def lists_version(self) -> int:
        row = self._read_one("SELECT value FROM meta WHERE key = 'lists_version'")
        if row is None:
            raise StoreError(f"{self.url}: not migrated (run `phishguard db migrate`)")
        return int(row[0])

    def domain_statuses(self) -> list[DomainStatus]:
        rows = self._read_all(
            "SELECT domain, status, decision_id, moderator, flag_id, decided_at"
            " FROM domain_status ORDER BY domain"
        )
        return [DomainStatus(*r) for r in rows]

    # -- campaigns
    def campaigns(
        self, *, status: FlagStatus = "open", min_flags: int = 2, limit: int = 100
    ) -> list[Campaign]:
        rows = self._read_all(
            "SELECT c.key, COUNT(*), COUNT(DISTINCT f.tenant), MIN(f.created_at), MAX(f.created_at),"
            " MAX(f.score), MAX(f.id) FROM flag_campaigns c JOIN flags f ON f.id = c.flag_id"
            " WHERE f.status = ? GROUP BY c.key HAVING COUNT(*) >= ?"
            " ORDER BY COUNT(*) DESC, MAX(f.created_at) DESC, c.key LIMIT ?",
            (status, min_flags, limit),
        )
        return [_campaign(r) for r in rows]

    def campaign_flag_ids(self, key: str, *, status: FlagStatus = "open") -> list[int]:
        rows = self._read_all(
            "SELECT c.flag_id FROM flag_campaigns c JOIN flags f ON f.id = c.flag_id"
            " WHERE c.key = ? AND f.status = ? ORDER BY c.flag_id DESC",
            (key, status),
        )
        return [int(r[0]) for r in rows]

    # -- re-judging
    def flags_with_domain(self, domain: str, *, status: FlagStatus = "open") -> list[Flag]:
        return self._select_flags(FlagQuery(status=status, domain=domain), limit=None)

    def sightings(self, domain: str, *, since: float) -> list[Sighting]:
        rows = self._read_all(
            "SELECT domain, tenant, message_id, context, verdict, seen_at FROM sightings"
            " WHERE domain = ? AND seen_at >= ? ORDER BY seen_at, id",
            (domain, since),
        )
        return [Sighting(d, t, m, json.loads(c), v, s) for d, t, m, c, v, s in rows]

    # -- feed and outbox
    def add_events(
        self, events: Iterable[tuple[str, str | None, dict[str, Any]]], *, now: float
    ) -> list[int]:
        events = list(events)
        if not events:
            return []
        with self._transaction():
            self._lock_feed()
            return self._append_events(events, now)

    def _append_events(
        self, events: Sequence[tuple[str, str | None, dict[str, Any]]], now: float
    ) -> list[int]:
        ids = [
            int(self._one(
                "INSERT INTO events (kind, tenant, payload, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                (kind, tenant, _dump(payload), now),
            )[0])
            for kind, tenant, payload in events
        ]  # fmt: skip
        self._many(
            "INSERT INTO deliveries (event_id, endpoint, next_at) VALUES (?, ?, ?)",
            [(eid, endpoint, now) for eid in ids for endpoint in self.webhook_endpoints],
        )
        return ids

    def events(self, *, after_id: int = 0, tenant: str | None = None, limit: int = 100) -> list[Event]:
        cond = "e.id > ?"
        params: list[Any] = [after_id]
        if tenant is not None:
            cond += " AND (e.tenant = ? OR e.tenant IS NULL)"
            params.append(tenant)
        rows = self._read_all(
            f"SELECT {_EVENT_COLUMNS} FROM events e WHERE {cond} ORDER BY e.id LIMIT ?", [*params, limit]
        )
        return [_event(r) for r in rows]

    def due_deliveries(self, *, now: float, limit: int = 50) -> list[Delivery]:
        rows = self._read_all(
            f"SELECT w.id, w.event_id, w.endpoint, w.attempts, w.next_at, {_EVENT_COLUMNS}"
            " FROM deliveries w JOIN events e ON e.id = w.event_id"
            " WHERE w.state = 'pending' AND w.next_at <= ? ORDER BY w.next_at, w.id LIMIT ?",
            (now, limit),
        )
        return [Delivery(r[0], r[1], r[2], r[3], r[4], _event(r[5:])) for r in rows]

    def claim_deliveries(self, *, now: float, lease_s: float, limit: int = 50) -> list[Delivery]:
        """The due deliveries, their ``next_at`` moved to ``now + lease_s`` in the same transaction,
        so a second worker polling meanwhile does not take them too (a sender that dies holding a
        lease leaves them due again when it runs out)."""
        with self._transaction():
            rows = self._all(
                f"SELECT w.id, w.event_id, w.endpoint, w.attempts, w.next_at, {_EVENT_COLUMNS}"
                " FROM deliveries w JOIN events e ON e.id = w.event_id"
                " WHERE w.state = 'pending' AND w.next_at <= ? ORDER BY w.next_at, w.id LIMIT ?"
                + self.dialect.skip_locked,
                (now, limit),
            )
            self._many("UPDATE deliveries SET next_at = ? WHERE id = ?", [(now + lease_s, r[0]) for r in rows])
        return [Delivery(r[0], r[1], r[2], r[3], r[4], _event(r[5:])) for r in rows]

    def delivery_done(self, delivery_id: int, *, now: float) -> None:
        self._update_delivery(
            "state = 'done', attempts = attempts + 1, done_at = ?, last_error = NULL", [now], delivery_id
        )

    def delivery_failed(self, delivery_id: int, *, error: str, next_at: float | None) -> None:
        error = error[:_MAX_ERROR_CHARS]
        if next_at is None:
            self._update_delivery(
                "state = 'failed', attempts = attempts + 1, last_error = ?", [error], delivery_id
            )
        else:
            self._update_delivery(
                "attempts = attempts + 1, last_error = ?, next_at = ?", [error, next_at], delivery_id
            )

    def _update_delivery(self, assignments: str, params: list[Any], delivery_id: int) -> None:
        with self._transaction():
            cur = self._x(f"UPDATE deliveries SET {assignments} WHERE id = ?", [*params, delivery_id])
            if cur.rowcount == 0:
                raise NotFound(f"delivery {delivery_id} not found")

    # -- users and credentials
    def add_user(self, name: str, role: Role, password_hash: str, *, now: float) -> User:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        with self._transaction():
            row = self._one(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING RETURNING name",
                (name, role, password_hash, now),
            )
            if row is None:
                raise StoreError(f"user {name!r} already exists")
        return User(name=name, role=role, created_at=now)

    def get_user(self, name: str) -> tuple[User, str]:
        row = self._read_one(
            f"SELECT {_USER_COLUMNS}, u.password_hash FROM users u WHERE u.name = ?", (name,)
        )
        if row is None:
            raise NotFound(f"user {name!r} not found")
        return _user(row), row[4]

    def list_users(self) -> list[User]:
        return [_user(r) for r in self._read_all(f"SELECT {_USER_COLUMNS} FROM users u ORDER BY u.name")]

    def set_password(self, name: str, password_hash: str) -> None:
        self._update_user("password_hash = ?", password_hash, name)

    def set_user_disabled(self, name: str, disabled: bool) -> None:
        self._update_user("disabled = ?", int(disabled), name)

    def _update_user(self, assignment: str, value: Any, name: str) -> None:
        with self._transaction():
            if self._x(f"UPDATE users SET {assignment} WHERE name = ?", (value, name)).rowcount == 0:
                raise NotFound(f"user {name!r} not found")

    def add_token(
        self, token_sha256: str, user: str, *, kind: str, expires_at: float | None, now: float
    ) -> None:
        if kind not in TOKEN_KINDS:
            raise ValueError(f"unknown token kind {kind!r}: use one of {', '.join(TOKEN_KINDS)}")
        with self._transaction():
            if self._one("SELECT 1 FROM users WHERE name = ?", (user,)) is None:
                raise NotFound(f"user {user!r} not found")
            self._x(
                "INSERT INTO tokens (token_sha256, user_name, kind, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_sha256, user, kind, now, expires_at),
            )

    def user_for_token(self, token_sha256: str, *, now: float) -> User | None:
        row = self._read_one(
            f"SELECT {_USER_COLUMNS} FROM tokens t JOIN users u ON u.name = t.user_name"
            " WHERE t.token_sha256 = ? AND u.disabled = 0 AND (t.expires_at IS NULL OR t.expires_at > ?)",
            (token_sha256, now),
        )
        return None if row is None else _user(row)

    def drop_token(self, token_sha256: str) -> None:
        with self._transaction():
            self._x("DELETE FROM tokens WHERE token_sha256 = ?", (token_sha256,))

    # -- retention
    def purge(self, *, before: float, now: float | None = None) -> dict[str, int]:
        now = time.time() if now is None else now
        with self._transaction():
            rows = self._all(
                "SELECT id, context FROM flags WHERE created_at < ? AND purged_at IS NULL", (before,)
            )
            self._many(
                "UPDATE flags SET text = NULL, context = ?, purged_at = ? WHERE id = ?",
                [(_dump(_without_personal(json.loads(ctx))), now, fid) for fid, ctx in rows],
            )
            sightings = self._x("DELETE FROM sightings WHERE seen_at < ?", (before,)).rowcount
            sessions = self._x(
                "DELETE FROM tokens WHERE kind = 'session' AND expires_at IS NOT NULL AND expires_at <= ?",
                (now,),
            ).rowcount
        return {"flags": len(rows), "sightings": sightings, "sessions": sessions}


def _without_personal(context: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in context.items() if k not in PURGED_CONTEXT_KEYS}


def _campaign(row: Sequence[Any]) -> Campaign:
    key, flags, tenants, first_seen, last_seen, max_score, sample = row
    kind, _, label = key.partition(":")
    return Campaign(
        key=key, kind=kind, label=label or key, flags=int(flags), tenants=int(tenants),
        first_seen=first_seen, last_seen=last_seen, max_score=max_score, sample_flag_id=int(sample),
    )  # fmt: skip
