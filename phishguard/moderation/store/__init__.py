"""The moderation store: :func:`open_store` picks the back end from the database URL.

* ``sqlite:///relative/path.db`` (relative to the current directory), ``sqlite:////abs/path.db``,
  ``sqlite:///:memory:`` (a private in-memory database, for tests);
* ``postgresql://user:password@host:port/db`` or ``postgres://…`` (any libpq URL).

>>> with open_store("sqlite:///:memory:") as store:
...     store.migrate(), store.lists_version()
(['0001_initial'], 0)
>>> open_store("mysql://db/x")
Traceback (most recent call last):
...
phishguard.moderation.store.base.StoreError: unsupported database URL 'mysql://db/x': use sqlite:///PATH ...
"""

from __future__ import annotations

from collections.abc import Sequence

from .base import (
    ACTIONS,
    ROLES,
    Campaign,
    Decision,
    Delivery,
    DomainStatus,
    Event,
    Flag,
    FlagQuery,
    NewFlag,
    NotFound,
    Page,
    Sighting,
    Store,
    StoreError,
    User,
)
from .sql import mask_password

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
    "open_store",
]

_SQLITE = "sqlite://"
_POSTGRES = ("postgresql://", "postgres://")


def open_store(url: str, *, webhook_endpoints: Sequence[str] = ()) -> Store:
    """The store at ``url`` (connected, not migrated: call ``migrate()``); ``webhook_endpoints`` are
    the names of the configured webhook endpoints, each of which gets a delivery of every event.
    StoreError (one line) for an unsupported URL or a store that cannot be opened."""
    lowered = url.lower()
    if lowered.startswith(_SQLITE):
        from .sqlite import SqliteStore

        return SqliteStore(_sqlite_path(url), url=url, webhook_endpoints=webhook_endpoints)
    if lowered.startswith(_POSTGRES):
        from .postgres import PostgresStore

        return PostgresStore(url, webhook_endpoints=webhook_endpoints)
    raise StoreError(
        f"unsupported database URL {mask_password(url)!r}: use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def _sqlite_path(url: str) -> str:
    """The file of a ``sqlite://`` URL.

    >>> _sqlite_path("sqlite:///data/pg.db"), _sqlite_path("sqlite:////var/lib/pg.db")
    ('data/pg.db', '/var/lib/pg.db')
    >>> _sqlite_path("sqlite://:memory:"), _sqlite_path("sqlite:///:memory:")
    (':memory:', ':memory:')
    """
    rest = url[len(_SQLITE) :]
    if rest in (":memory:", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/") or len(rest) < 2:
        raise StoreError(f"bad SQLite URL {url!r}: use sqlite:///relative/path or sqlite:////absolute/path")
    return rest[1:]
