"""The click commands of the service: ``phishguard serve`` and ``phishguard keys create``.

Registered on the main group at the end of ``phishguard/cli.py``; shared options come from
``phishguard.cli_options``.
"""

from __future__ import annotations

import json

import click

from ..cli_options import config_option
from .keys import hash_key, new_key

__all__ = ["keys", "serve"]


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: setting service.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="TCP port (default: service.port, 8080).")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Worker processes (default: service.workers, 1).")
@click.option("--insecure", is_flag=True, help="Allow a non-loopback address without API keys.")
@config_option
def serve(host: str | None, port: int | None, workers: int | None, insecure: bool, config: str | None) -> int:
    """Run the HTTP service (SPEC §3) until SIGTERM; SIGHUP reloads rules and keys."""
    from ..resources import gc_paused, one_blas_thread

    one_blas_thread()  # before numpy is imported (the warm-up imports it)

    def load():
        from ..settings import load_settings

        settings = load_settings(config)
        changes = {k: v for k, v in (("host", host), ("port", port), ("workers", workers)) if v is not None}
        if changes:
            settings = settings.model_copy(update={"service": settings.service.model_copy(update=changes)})
        return settings

    with gc_paused():  # the settings and the service's modules live as long as the service
        from .runner import serve as run

        settings = load()
    return run(settings, reload_settings=load, insecure=insecure)


@click.group()
def keys() -> None:
    """Manage the service's API keys."""


@keys.command("create")
@click.option("--tenant", required=True, help="Who will use the key (shown in logs and metrics).")
@click.option("--admin", is_flag=True, help="The key may also call admin endpoints (reload).")
def keys_create(tenant: str, admin: bool) -> int:
    """Print a new API key once, and the configuration entry (its hash only) to add."""
    tenant = tenant.strip()
    if not tenant or len(tenant) > 100 or not tenant.isprintable():
        raise click.UsageError("--tenant must be 1 to 100 printable characters")
    key = new_key()
    entry = {"tenant": tenant, "sha256": hash_key(key), "admin": admin}
    flow = json.dumps(entry, ensure_ascii=False)  # JSON is YAML too
    click.echo(f"API key for {tenant} (shown once; give it to the tenant, it is not stored):")
    click.echo(f"  {key}")
    click.echo("Add this entry to service.api_keys in the config file:")
    click.echo("service:\n  api_keys:")
    click.echo(f"    - {flow}")
    click.echo("or, in the environment (a JSON list of all entries):")
    click.echo(f"  PHISHGUARD_SERVICE__API_KEYS='[{flow}]'")
    return 0
