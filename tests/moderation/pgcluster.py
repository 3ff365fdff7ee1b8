"""A PostgreSQL server for tests: the one named by ``PHISHGUARD_TEST_DATABASE_URL``, else a throwaway
cluster (``initdb`` + ``pg_ctl`` on PATH) in a temporary directory, listening on a unix socket and on
127.0.0.1 at a free port, stopped and deleted at the end. As root (CI), ``initdb`` and ``pg_ctl`` run
as the ``postgres`` user through ``runuser``, since ``initdb`` refuses root.

Each test gets its own schema (:func:`fresh_schema`): the URL it returns sets ``search_path``, so
the store under test sees an empty database, and it only needs CREATE on the database.

Usage (a session fixture)::

    with postgres_server() as base_url:   # raises PostgresUnavailable(reason)
        url = fresh_schema(base_url, "t1")
        ...
        drop_schema(base_url, "t1")
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

__all__ = ["ENV_VAR", "PostgresUnavailable", "drop_schema", "fresh_schema", "postgres_server"]

ENV_VAR = "PHISHGUARD_TEST_DATABASE_URL"
SUPERUSER = "postgres"
START_TIMEOUT_S = 60


class PostgresUnavailable(Exception):
    """No PostgreSQL for the tests (the message says why, for ``pytest.skip``)."""


@contextmanager
def postgres_server(env_url: str | None = None) -> Iterator[str]:
    """The URL of a database to test in: ``env_url`` (default: the environment variable) if set,
    else the ``postgres`` database of a throwaway cluster, stopped when the block ends."""
    env_url = env_url if env_url is not None else os.environ.get(ENV_VAR)
    if env_url:
        yield env_url
        return
    cluster = ThrowawayCluster.start()
    try:
        yield cluster.url
    finally:
        cluster.stop()


def fresh_schema(base_url: str, name: str) -> str:
    """Create the empty schema ``name`` and return a URL whose connections use it."""
    _admin(base_url, f'DROP SCHEMA IF EXISTS "{name}" CASCADE; CREATE SCHEMA "{name}"')
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}options={quote(f'-csearch_path={name}')}"


def drop_schema(base_url: str, name: str) -> None:
    _admin(base_url, f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tool(name: str) -> str | None:
    """``name`` on PATH, else in the newest Debian PostgreSQL (``/usr/lib/postgresql/<v>/bin``)."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return str(versions[-1]) if versions else None


class ThrowawayCluster:
    """A PostgreSQL cluster in a temporary directory (fsync off: durability across an OS crash is
    not what tests check; a killed client process is)."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data = root / "data"
        self.port = port
        self.url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"

    @classmethod
    def start(cls) -> ThrowawayCluster:
        for tool in ("initdb", "pg_ctl"):
            if _tool(tool) is None:
                raise PostgresUnavailable(
                    f"{tool} is neither on PATH nor in /usr/lib/postgresql/*/bin, and {ENV_VAR} is not set"
                )
        as_root = os.geteuid() == 0
        if as_root and shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root without runuser: cannot run initdb as postgres")
        root = Path(tempfile.mkdtemp(prefix="phishguard-pg-"))
        cluster = cls(root, _free_port())
        try:
            if as_root:
                shutil.chown(root, user=SUPERUSER)
            cluster._run("initdb", "-D", str(cluster.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                         "--locale=C", "--no-sync")  # fmt: skip
            options = f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
            cluster._run("pg_ctl", "-D", str(cluster.data), "-l", str(root / "server.log"), "-o", options,
                         "-w", "-t", str(START_TIMEOUT_S), "start")  # fmt: skip
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return cluster

    def _run(self, tool: str, *args: str) -> None:
        argv = [_tool(tool) or tool, *args]
        command = ["runuser", "-u", SUPERUSER, "--", *argv] if os.geteuid() == 0 else argv
        done = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=START_TIMEOUT_S + 30
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{tool} failed: {(done.stderr or done.stdout).strip()} {tail}".strip()
            )

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
