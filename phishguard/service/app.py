"""``create_app(settings)``: the aiohttp application of SPEC §3 (no argv, no global state).

>>> from phishguard.settings import Settings
>>> app = create_app(Settings())
>>> sorted(p for p in app[ACCESS] if not p.startswith(("/v1/moderation", "/moderation")))
['/healthz', '/metrics', '/openapi.json', '/readyz', '/v1/admin/reload', '/v1/decisions', '/v1/scan', '/v1/scan/batch']
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from ..scanner import Scanner
from ..settings import Settings
from . import handlers
from .accesslog import flush_access_log
from .middlewares import ACCESS, access_policy, service_middleware
from .state import STATE, ServiceState

__all__ = ["STATE", "create_app"]

# (method, path, handler, access class used by the guard of service_middleware)
ROUTES = (
    ("POST", "/v1/scan", handlers.scan, "scan"),
    ("POST", "/v1/scan/batch", handlers.scan_batch, "scan"),
    ("POST", "/v1/admin/reload", handlers.reload, "admin"),
    ("GET", "/healthz", handlers.healthz, "health"),
    ("GET", "/readyz", handlers.readyz, "health"),
    ("GET", "/metrics", handlers.metrics, "metrics"),
    ("GET", "/openapi.json", handlers.openapi, "openapi"),
)


def create_app(
    settings: Settings,
    *,
    scanner: Scanner | None = None,
    reload_settings: Callable[[], Settings] | None = None,
) -> web.Application:
    """Build the app. The scanner is ``scanner`` if given (e.g. loaded once before forking workers),
    else built from ``settings`` at start-up; ``reload_settings`` re-reads the configuration for a
    reload (default: the same settings, rules re-read from disk)."""
    limits = settings.service.limits
    app = web.Application(
        middlewares=[service_middleware],  # observe + errors + guard in one layer (see middlewares.py)
        client_max_size=max(limits.max_body_bytes, limits.max_batch_body_bytes),
    )
    state = ServiceState.build(settings, reload_settings)
    app[STATE] = state
    app[ACCESS] = {path: access for _, path, _, access in ROUTES}
    if settings.moderation.enabled:
        app[ACCESS].update({path: access for _, path, _, access in moderation_routes()})
    state.policy = access_policy(app[ACCESS], settings.service)
    for method, path, handler, _ in ROUTES:
        app.router.add_route(method, path, handler)
    if settings.moderation.enabled:
        for method, path, handler, _ in moderation_routes():
            app.router.add_route(method, path, handler)

    async def scanner_ctx(app: web.Application) -> AsyncIterator[None]:
        state.install(scanner if scanner is not None else Scanner(settings))
        yield
        state.ready = False

    async def not_ready(app: web.Application) -> None:  # stopping: /readyz says so, scans still answered
        state.stopping = True

    async def fetcher_ctx(app: web.Application) -> AsyncIterator[None]:
        from ..page.fetch import PageFetcher, config_from_settings

        async with PageFetcher(config_from_settings(settings)) as fetcher:
            state.fetcher = fetcher
            yield
            state.fetcher = None

    app.cleanup_ctx.append(scanner_ctx)
    app.cleanup_ctx.append(fetcher_ctx)
    if settings.moderation.enabled:
        from ..moderation.runtime import MODERATION, Moderation

        state.moderation = app[MODERATION] = Moderation(
            settings, lambda: state.scanner, state.metrics, quiet=state.in_flight
        )
        app.cleanup_ctx.append(_moderation_ctx(state.moderation, state))
    app.on_shutdown.append(not_ready)

    async def flush_log(app: web.Application) -> None:
        flush_access_log()

    app.on_cleanup.append(flush_log)
    return app


def moderation_routes() -> list[tuple[str, str, Callable[..., Any], str]]:
    """The review API, the decisions feed and the /moderation pages, with their access classes."""
    from ..moderation.api import API_ROUTES, FEED_ROUTES
    from ..moderation.web import WEB_ROUTES

    return [
        *((m, p, h, "moderation") for m, p, h in API_ROUTES),
        *((m, p, h, "feed") for m, p, h in FEED_ROUTES),
        *((m, p, h, "moderation") for m, p, h in WEB_ROUTES),
    ]


def _moderation_ctx(moderation: Any, state: ServiceState) -> Callable[[web.Application], AsyncIterator[None]]:
    async def moderation_ctx(app: web.Application) -> AsyncIterator[None]:
        await moderation.start(client=state.fetcher)  # webhooks go through the SSRF-safe fetcher
        yield
        await moderation.stop(moderation.settings.service.shutdown_grace)

    return moderation_ctx
