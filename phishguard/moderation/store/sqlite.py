"""The embedded store: SQLite (stdlib ``sqlite3``) in WAL mode, shared by several worker processes.

Every connection sets ``journal_mode=WAL`` (readers never block the writer), ``synchronous=FULL``
(a commit is on disk before ``decide`` returns), a ``busy_timeout`` (writers of other processes are
waited for, not failed) and ``foreign_keys=ON``. Writes start with ``BEGIN IMMEDIATE`` so that a
transaction takes the write lock up front instead of failing half-way on a lock upgrade.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

from .base import StoreError
from .sql import Dialect, SqlStore, one_line

__all__ = ["SQLITE", "SqliteStore"]

MEMORY = ":memory:"

SQLITE = Dialect(
    name="sqlite",
    id_type="INTEGER PRIMARY KEY AUTOINCREMENT",
    float_type="REAL",
    begin_write="BEGIN IMMEDIATE",
    placeholder="?",
    table_exists="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    migration_lock=None,  # BEGIN IMMEDIATE already excludes every other writer
    driver_error=sqlite3.Error,
)


class SqliteStore(SqlStore):
    """The store in one SQLite file (``path``; ``:memory:`` for a private in-memory database)."""

    dialect = SQLITE

    def __init__(
        self, path: str | Path, *, url: str | None = None, busy_timeout_s: float = 30.0,
        webhook_endpoints: Sequence[str] = (),
    ) -> None:  # fmt: skip
        self.path = str(path)
        self.busy_timeout_s = busy_timeout_s
        super().__init__(url or f"sqlite:///{self.path}", webhook_endpoints=webhook_endpoints)

    def _connect(self) -> sqlite3.Connection:
        if self.path != MEMORY:
            parent = Path(self.path).parent
            if not parent.is_dir():
                raise StoreError(f"{self.url}: directory {parent} does not exist")
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as e:
            raise self._error(e) from e
        try:
            self._configure(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _wal(self, conn: sqlite3.Connection) -> str:
        """Switch to WAL; retried, because while another process creates the same new file SQLite may
        answer "database is locked" at once, without waiting for the busy timeout."""
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
                return str(mode)
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _configure(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            mode = self._wal(conn)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as e:
            raise StoreError(f"{self.url}: {one_line(e)}") from e
        if self.path != MEMORY and str(mode).lower() != "wal":
            raise StoreError(f"{self.url}: cannot use WAL mode (journal_mode is {mode})")
