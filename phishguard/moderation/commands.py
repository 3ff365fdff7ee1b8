"""The click commands of moderation: ``db migrate|purge``, ``users add|list|key``, ``export-reviews``.

Each opens the configured store (``database_url``) for the command only. Registered on the main group
at the end of ``phishguard/cli.py``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from ..cli_options import config_option

__all__ = ["db", "export_reviews", "users"]

#: How a flag's latest decision labels its text for training (phishguard.classifier.data.LABELS).
LABEL_OF = {"confirm": "scam", "dismiss": "legit"}


@contextmanager
def _store(config: str | None) -> Iterator[Any]:
    from ..settings import load_settings
    from .store import open_store

    settings = load_settings(config)
    store = open_store(settings.database_url, webhook_endpoints=[w.name for w in settings.moderation.webhooks])
    try:
        yield store, settings
    finally:
        store.close()


@click.group()
def db() -> None:
    """The moderation store (database_url: SQLite by default, or PostgreSQL)."""


@db.command("migrate")
@config_option
def db_migrate(config: str | None) -> int:
    """Apply the store's migrations not applied yet (serve also does this at start-up)."""
    with _store(config) as (store, _):
        applied = store.migrate()
        every = store.applied_migrations()
        click.echo(f"{store.url}: applied {len(applied)} migration(s): {', '.join(applied) or 'none needed'}; "
                   f"schema at {every[-1] if every else 'empty'}")
    return 0


@db.command("purge")
@click.option("--days", type=click.IntRange(1, 36500), default=None, help="Keep this many days (default: moderation.retention_days).")
@config_option
def db_purge(days: int | None, config: str | None) -> int:
    """Remove message texts, sender ids and sightings older than the retention period (decisions stay)."""
    with _store(config) as (store, settings):
        store.migrate()
        keep = days if days is not None else settings.moderation.retention_days
        counts = store.purge(before=time.time() - keep * 86400.0)
        click.echo(f"purged (older than {keep} days): " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


@click.group()
def users() -> None:
    """Moderators and their roles (viewer, moderator, admin)."""


def _read_password(generate: bool) -> tuple[str, bool]:
    """The password from stdin (one line), or a generated one when asked or stdin is a terminal."""
    import secrets

    if generate or sys.stdin is None or sys.stdin.isatty():
        return secrets.token_urlsafe(15), True
    line = sys.stdin.readline().rstrip("\r\n")
    if len(line) < 10:
        raise click.UsageError("the password on stdin must be at least 10 characters")
    return line, False


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "moderator", "admin"]), default="moderator", show_default=True)
@click.option("--generate", is_flag=True, help="Generate the password and print it once (default when stdin is a terminal).")
@config_option
def users_add(name: str, role: str, generate: bool, config: str | None) -> int:
    """Add a user; the password is read from stdin (one line) or generated and printed once."""
    from .passwords import hash_password

    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise click.UsageError("the user name must be 1 to 100 printable characters")
    password, generated = _read_password(generate)
    with _store(config) as (store, _):
        store.migrate()
        store.add_user(name, role, hash_password(password), now=time.time())  # type: ignore[arg-type]
    click.echo(f"added {role} {name}")
    if generated:
        click.echo(f"password (shown once): {password}")
    return 0


@users.command("list")
@config_option
def users_list(config: str | None) -> int:
    """List users with their roles."""
    with _store(config) as (store, _):
        store.migrate()
        for u in store.list_users():
            state = " (disabled)" if u.disabled else ""
            click.echo(f"{u.name}\t{u.role}{state}\t{time.strftime('%Y-%m-%d', time.gmtime(u.created_at))}")
    return 0


@users.command("key")
@click.argument("name")
@config_option
def users_key(name: str, config: str | None) -> int:
    """Print a new moderator API key for NAME once (for the review API; only its hash is stored)."""
    from .passwords import new_token, token_hash

    token = new_token()
    with _store(config) as (store, _):
        store.migrate()
        user, _ = store.get_user(name)
        store.add_token(token_hash(token), user.name, kind="key", expires_at=None, now=time.time())
    click.echo(f"moderator key for {name} (shown once; use as Authorization: Bearer <key>):")
    click.echo(f"  {token}")
    return 0


@click.command("export-reviews")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-", show_default=True,
              help="File to write ('-': stdout).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Only decisions from this day on (UTC).")
@config_option
def export_reviews(fmt: str, output: str, since: Any, config: str | None) -> int:
    """Write decided flags as labelled training data: {"text", "label", "source", "decided_at"} per line.

    Confirmed flags are ``scam``, dismissed ones ``legit``; flags stored without text are skipped.
    ``phishguard train`` reads this format beside TSV."""
    import calendar

    cutoff = calendar.timegm(since.timetuple()) if since is not None else None
    written = skipped = 0
    with _store(config) as (store, _), click.open_file(output, "w", encoding="utf-8") as out:
        store.migrate()
        for flag, decision in store.decided_flags(since=cutoff):
            label = LABEL_OF.get(decision.action)
            if label is None or not flag.text:
                skipped += 1
                continue
            record = {
                "text": flag.text,
                "label": label,
                "source": f"review:{flag.tenant}:{flag.id}:{decision.moderator}",
                "decided_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(decision.created_at)),
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    click.echo(f"exported {written} decided flag(s), skipped {skipped} without text", err=True)
    return 0
