"""``/openapi.json``: an OpenAPI 3.1 document whose schemas are the pydantic models' JSON Schemas."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from .. import __version__
from .schemas import REQUEST_MODELS, RESPONSE_MODELS

__all__ = ["build_openapi"]

_REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _error(description: str, retry_after: bool = False) -> dict[str, Any]:
    out = _json("ErrorResponse", description)
    if retry_after:
        out["headers"] = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
    return out


_COMMON_ERRORS = {
    "400": _error("invalid_json or invalid_request"),
    "401": _error("unauthorized: missing or unknown API key"),
    "413": _error("payload_too_large"),
    "429": _error("rate_limited", retry_after=True),
    "503": _error("overloaded (in-flight cap, with Retry-After) or not_ready", retry_after=True),
}


def _post(summary: str, request: str, response: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request)}}},
            "responses": {"200": _json(response, "OK"), **_COMMON_ERRORS, **(extra or {})},
        }
    }


def _get(summary: str, responses: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "security": [{}, {"bearer": []}], "responses": responses}}


def build_openapi() -> dict[str, Any]:
    """The whole document (plain data, JSON-serialisable)."""
    models = [(m, "validation") for m in REQUEST_MODELS] + [(m, "serialization") for m in RESPONSE_MODELS]
    _, top = models_json_schema(models, ref_template=_REF)
    schemas = top["$defs"]
    paths = {
        "/v1/scan": _post("Scan one message", "ScanRequest", "Verdict"),
        "/v1/scan/batch": _post("Scan many messages, answered in order", "BatchRequest", "BatchResponse"),
        "/v1/admin/reload": {
            "post": {
                "summary": "Rebuild the scanner from the configuration and swap it in (admin key)",
                "security": [{"bearer": []}],
                "responses": {
                    "200": _json("Reloaded", "reloaded"),
                    "401": _COMMON_ERRORS["401"],
                    "403": _error("forbidden: not an admin key"),
                    "429": _COMMON_ERRORS["429"],
                    "500": _error("reload_failed: the previous rules stay in use"),
                    "503": _COMMON_ERRORS["503"],
                },
            }
        },
        "/healthz": _get("Liveness", {"200": _json("Health", "alive")}),
        "/readyz": _get("Readiness: rules loaded", {"200": _json("Health", "ready"), "503": _error("not_ready")}),
        "/metrics": _get(
            "Prometheus metrics",
            {"200": {"description": "exposition text", "content": {"text/plain": {"schema": {"type": "string"}}}}},
        ),
        "/openapi.json": _get(
            "This document",
            {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}},
        ),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "phishguard",
            "version": __version__,
            "description": "Fraud-link detector for marketplace chat messages (SPEC §1 verdicts, §3 service).",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "API key"}},
        },
    }
