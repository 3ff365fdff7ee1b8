"""What one worker's app holds (typed ``web.AppKey`` / ``web.RequestKey`` entries) and how the
scanner is swapped on reload."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..scanner import Scanner
from ..settings import Settings
from .coalesce import Coalescer
from .keys import KeyStore
from .limits import InFlight, RateLimiter
from .metrics import Metrics

__all__ = ["LOG", "STATE", "TENANT", "ServiceState"]

log = logging.getLogger("phishguard.service")


@dataclass
class ServiceState:
    """One worker's service state. ``scanner`` is replaced whole on reload (one attribute store, so a
    request sees either the old scanner or the new one, never a mix); handlers read it once."""

    settings: Settings
    keys: KeyStore
    metrics: Metrics
    in_flight: InFlight
    rate: RateLimiter
    reload_settings: Callable[[], Settings]
    scanner: Scanner | None = None
    fetcher: Any = None  # page.fetch.PageFetcher, opened with the app (requests with "fetch": true)
    moderation: Any = None  # moderation.runtime.Moderation (flags, moderators' lists), when enabled
    ready: bool = False
    stopping: bool = False
    openapi: bytes = b""  # built on the first GET /openapi.json (not at start-up)
    policy: dict[str, int] = field(default_factory=dict)  # canonical path -> what the guard does (middlewares)
    access_log: bool = True  # settings.service.access_log, read once per request
    coalescer: Coalescer = field(default_factory=Coalescer)  # single scans of one loop turn, scored together
    _reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def build(cls, settings: Settings, reload_settings: Callable[[], Settings] | None = None) -> ServiceState:
        svc = settings.service
        return cls(
            settings=settings,
            keys=KeyStore(svc.api_keys),
            metrics=Metrics(),
            in_flight=InFlight(svc.limits.max_in_flight),
            rate=RateLimiter(svc.limits.rate_per_key, svc.limits.rate_burst),
            reload_settings=reload_settings or (lambda: settings),
            access_log=svc.access_log,
        )

    def install(self, scanner: Scanner) -> None:
        """Start using ``scanner`` (atomically) and publish its versions."""
        if self.moderation is not None:  # a reloaded scanner applies the moderators' lists too
            self.moderation.apply(scanner)
        self.scanner = scanner
        self.metrics.set_versions(scanner.rules_version, _model_versions(scanner))
        self.ready = True

    async def reload(self) -> tuple[str, str]:
        """Re-read the configuration, build a new scanner off the event loop, swap it in.

        Returns (previous, new) rules versions. On any error the old scanner stays in use and the
        error propagates (one line: ConfigError / RuleLoadError).
        """
        async with self._reload_lock:
            loop = asyncio.get_running_loop()
            settings = await loop.run_in_executor(None, self.reload_settings)
            scanner = await loop.run_in_executor(None, Scanner, settings)
            previous = self.scanner.rules_version if self.scanner is not None else ""
            self.keys = KeyStore(settings.service.api_keys)
            self.install(scanner)
            log.info("reloaded: rules %s -> %s", previous, scanner.rules_version)
            return previous, scanner.rules_version


def _model_versions(scanner: Scanner) -> list[str]:
    models: Any = getattr(scanner, "models", None) or {}
    return [f"{k}:{getattr(v, 'version', v)}" for k, v in dict(models).items()] if isinstance(models, dict) else []


STATE = web.AppKey("phishguard_state", ServiceState)
TENANT = web.RequestKey("phishguard_tenant", str)
LOG = web.RequestKey("phishguard_log", dict)
