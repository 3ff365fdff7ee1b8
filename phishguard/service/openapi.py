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
    from ..moderation.api import REQUEST_MODELS as MODERATION_REQUESTS

    models = [(m, "validation") for m in (*REQUEST_MODELS, *MODERATION_REQUESTS)]
    models += [(m, "serialization") for m in RESPONSE_MODELS]
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
    paths.update(_moderation_paths())
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
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API key"},
                "moderator": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Moderator token: a session from /v1/moderation/login or a key from `phishguard users key`",
                },
            },
        },
    }


_OBJECT = {"type": "object"}


def _param(name: str, in_path: bool, bounds: dict[str, tuple[int, int]] | None = None) -> dict[str, Any]:
    """A query (or path) parameter; integers carry the range the handler accepts (``bounds`` per
    operation, else ``_INT_PARAMS``), ``status`` its three values."""
    schema: dict[str, Any]
    if name in _INT_PARAMS:
        lo, hi = (bounds or {}).get(name, _INT_PARAMS[name])
        schema = {"type": "integer", "minimum": lo, "maximum": hi}
    elif name in _NUM_PARAMS:
        schema = {"type": "number"}
    elif name == "status":
        schema = {"type": "string", "enum": list(_STATUSES)}
    else:
        schema = {"type": "string"}
    if in_path:
        return {"name": name, "in": "path", "required": True, "schema": schema}
    # the handlers read an empty query value as an absent one (as HTML forms send unset filters)
    return {"name": name, "in": "query", "required": False, "allowEmptyValue": True, "schema": schema}


def _mod(
    method: str,
    summary: str,
    request: str | None = None,
    params: list[str] = (),
    path_param: str = "",
    bounds: dict[str, tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """A review API operation: moderator token, JSON object answer, the SPEC error bodies."""
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"moderator": []}],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": _OBJECT}}},
            "400": _error("invalid_json or invalid_request"),
            "401": _error("unauthorized: missing, invalid or expired moderator token"),
            "403": _error("forbidden: the user's role may not do this"),
            "404": _error("not_found"),
            "503": _error("store_unavailable"),
        },
    }
    if params or path_param:
        op["parameters"] = [_param(n, False, bounds) for n in params] + ([_param(path_param, True)] if path_param else [])
    if request:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(request)}}}
        op["responses"]["413"] = _error("payload_too_large")
    return {method: op}


# integer parameters and the ranges moderation/api.py accepts (ids: 64-bit; queries: its _int bounds)
_MAX_QUERY_INT = 2**62
_INT_PARAMS = {
    "flag_id": (1, 2**63 - 1),
    "limit": (1, 1000),
    "before": (0, _MAX_QUERY_INT),
    "after": (0, _MAX_QUERY_INT),
    "min_flags": (1, 1_000_000),
}
_NUM_PARAMS = {"since", "until", "min_score", "max_score"}
_STATUSES = ("open", "confirmed", "dismissed")
_FILTERS = ["status", "category", "brand", "domain", "tenant", "campaign", "since", "until", "min_score", "max_score", "limit", "before"]


def _moderation_paths() -> dict[str, Any]:
    feed = _mod("get", "Decisions feed for the API key's tenant (poll with after=<last id>)", params=["after", "limit"])
    feed["get"]["security"] = [{"bearer": []}]
    login = _mod("post", "Log in: a session token for the review API", "LoginRequest")
    login["post"]["security"] = []  # the credentials are in the body
    login["post"]["responses"]["401"] = _error("unauthorized: wrong user name or password")
    login["post"]["responses"]["429"] = _error("rate_limited: too many failed logins for this name", retry_after=True)
    return {
        "/v1/moderation/login": login,
        "/v1/moderation/logout": _mod("post", "End the session of the token sent"),
        "/v1/moderation/flags": _mod(
            "get", "The review queue, filtered, newest first", params=_FILTERS, bounds={"limit": (1, 500)}
        ),
        "/v1/moderation/flags/{flag_id}": _mod(
            "get", "One flag with everything the scanner saw, and its decisions", path_param="flag_id"
        ),
        "/v1/moderation/flags/{flag_id}/decision": _mod(
            "post", "Confirm, dismiss or reopen a flag (answered after commit)", "DecisionRequest", path_param="flag_id"
        ),
        "/v1/moderation/campaigns": _mod("get", "Open flags grouped by domain, path template or kit", params=["status", "min_flags", "limit"]),
        "/v1/moderation/campaigns/decision": _mod("post", "Decide every open flag of a campaign", "CampaignDecisionRequest"),
        "/v1/moderation/domains/decision": _mod("post", "Decide on domains directly", "DomainDecisionRequest"),
        "/v1/moderation/domains": _mod("get", "The moderators' deny and allow lists"),
        "/v1/moderation/decisions": _mod(
            "get", "The audit trail of decisions, oldest first", params=["after", "limit", "flag_id"],
            bounds={"flag_id": (0, _MAX_QUERY_INT)},
        ),
        "/v1/decisions": feed,
    }
