"""The service's settings (``service:`` in the config file, ``PHISHGUARD_SERVICE__*`` in the environment).

Declared once here, with descriptions that the README's settings table reuses.

>>> ServiceSettings().port, ServiceSettings().limits.max_batch_messages
(8080, 1000)
"""

from __future__ import annotations

import re

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ApiKey", "ServiceLimits", "ServiceSettings"]

_HEX64 = re.compile(r"[0-9a-f]{64}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApiKey(_Strict):
    """One API key, stored as the SHA-256 of the key (the key itself is shown once, at creation)."""

    tenant: str = Field(min_length=1, max_length=100, description="Who uses the key (logged with each request).")
    sha256: str = Field(description="Hex SHA-256 of the key, as printed by `phishguard keys create`.")
    admin: bool = Field(False, description="May call the admin endpoints (reload).")

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        value = value.strip().lower()
        if not _HEX64.fullmatch(value):
            raise ValueError("must be 64 hex digits (the hash printed by `phishguard keys create`)")
        return value


class ServiceLimits(_Strict):
    max_body_bytes: int = Field(262144, ge=1024, description="Largest body of POST /v1/scan; larger: 413.")
    max_batch_body_bytes: int = Field(8388608, ge=1024, description="Largest body of POST /v1/scan/batch; larger: 413.")
    max_batch_messages: int = Field(1000, ge=1, le=100000, description="Most messages in one batch request; more: 413.")
    max_in_flight: int = Field(
        256, ge=1, description="Requests handled at once per worker; more get 503 overloaded with Retry-After."
    )
    rate_per_key: float = Field(
        0.0, ge=0, description="Requests per second allowed per API key and worker (0: no limit); more get 429."
    )
    rate_burst: int = Field(100, ge=1, description="Requests a key may send at once above its rate (token bucket size).")
    batch_budget_ms: float = Field(
        2000.0, gt=0, description="Scan time one batch request may use; messages left over get a time_budget error."
    )
    retry_after_s: int = Field(1, ge=1, le=3600, description="Retry-After (seconds) sent with 503 overloaded.")


class ServiceSettings(_Strict):
    """How ``phishguard serve`` listens, authenticates, limits and logs."""

    host: str = Field("127.0.0.1", description="Address to listen on; other than loopback needs API keys (or --insecure).")
    port: int = Field(8080, ge=0, le=65535, description="TCP port to listen on.")
    workers: int = Field(1, ge=1, le=256, description="Worker processes sharing the port, each with its own scanner.")
    api_keys: list[ApiKey] = Field(
        default_factory=list,
        description="API keys as {tenant, sha256, admin}; none: no authentication, loopback only.",
    )
    open_health: bool = Field(True, description="GET /healthz and /readyz answer without a key.")
    open_metrics: bool = Field(True, description="GET /metrics answers without a key.")
    open_openapi: bool = Field(True, description="GET /openapi.json answers without a key.")
    access_log: bool = Field(True, description="One JSON line per request on stderr (id, tenant, status, latency, verdict).")
    log_text: bool = Field(False, description="Include the message text in access log lines (off: never logged).")
    event_loop: Literal["auto", "uvloop", "asyncio"] = Field(
        "auto", description="Workers' event loop: uvloop (libuv) where installed (auto), or the stdlib asyncio loop."
    )
    shutdown_grace: float = Field(
        10.0, ge=0, le=3600, description="Seconds a stopping worker waits for requests in flight (SIGTERM)."
    )
    limits: ServiceLimits = Field(default_factory=ServiceLimits, description="Request limits of the HTTP service.")
