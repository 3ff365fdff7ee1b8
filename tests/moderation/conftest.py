"""Fixtures of the moderation store tests: every store test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import pytest
from pgcluster import ENV_VAR, PostgresUnavailable, drop_schema, fresh_schema, postgres_server

from phishguard.moderation.store import Store, open_store

ENDPOINTS = ("hooks-a", "hooks-b")
# Read at import: the autouse fixture of tests/conftest.py hides PHISHGUARD_* variables from tests.
_ENV_URL = os.environ.get(ENV_VAR)
_schemas = itertools.count(1)
_unavailable: list[str] = []  # why PostgreSQL is not available, for the skip message


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str | None]:
    """A PostgreSQL database URL for the session, or None (skip reason in ``pg_unavailable``)."""
    try:
        with postgres_server(_ENV_URL or "") as url:
            yield url
    except PostgresUnavailable as e:
        _unavailable.append(str(e))
        yield None


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of an empty store of each back end."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'moderation.db'}"
        return
    base = request.getfixturevalue("pg_base_url")
    if base is None:
        pytest.skip(f"PostgreSQL not available: {_unavailable[-1] if _unavailable else 'unknown reason'}")
    schema = f"t{os.getpid()}_{next(_schemas)}"
    yield fresh_schema(base, schema)
    drop_schema(base, schema)


@pytest.fixture
def make_store(store_url: str) -> Iterator[Callable[..., Store]]:
    """Open (more) stores on the same database; all closed at the end of the test."""
    opened: list[Store] = []

    def make(*, migrate: bool = True, url: str | None = None) -> Store:
        store = open_store(url or store_url, webhook_endpoints=ENDPOINTS)
        opened.append(store)
        if migrate:
            store.migrate()
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[..., Store]) -> Store:
    """A migrated store with two webhook endpoints configured."""
    return make_store()
