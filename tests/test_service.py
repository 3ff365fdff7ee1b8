"""The HTTP service in-process (pytest-aiohttp client): every endpoint, auth, each limit, bad input,
the error format, metrics, OpenAPI (validated, and real responses checked against it), reload."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi

from phishguard.service.app import ROUTES, STATE, create_app
from phishguard.service.config import ApiKey
from phishguard.service.keys import KeyStore, hash_key, new_key, parse_bearer
from phishguard.service.limits import RateLimiter
from phishguard.service.openapi import build_openapi
from phishguard.settings import ConfigError, Settings, load_settings

SCAM = "Получите оплату: https://аvito.ru/pay/123"
SCAN_KEY, ADMIN_KEY = new_key(), new_key()
KEYS = [
    {"tenant": "acme", "sha256": hash_key(SCAN_KEY)},
    {"tenant": "ops", "sha256": hash_key(ADMIN_KEY), "admin": True},
]
OPENAPI = build_openapi()


def settings(**service) -> Settings:
    limits = service.pop("limits", {})
    return Settings(lang="en", service={**service, "limits": limits})


@pytest.fixture
def make_client(aiohttp_client, scanner):
    async def make(s: Settings | None = None, **kw):
        app = create_app(s or settings(), scanner=scanner, **kw)
        return await aiohttp_client(app)

    return make


@pytest.fixture
async def client(make_client):
    return await make_client()


def conforms(doc, schema_name: str) -> None:
    """``doc`` validates against components/schemas/<schema_name> of the served OpenAPI document."""
    schema = {**OPENAPI, "$ref": f"#/components/schemas/{schema_name}"}
    jsonschema.Draft202012Validator(schema).validate(doc)


async def error_of(resp, status: int, code: str) -> str:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert "Traceback" not in body["error"]["message"]
    conforms(body, "ErrorResponse")
    return body["error"]["message"]


# --------------------------------------------------------------------------- scan


async def test_scan_returns_the_spec_verdict(client):
    resp = await client.post("/v1/scan", json={"text": SCAM, "id": "m-1", "context": {"chat_id": "c-9"}, "lang": "ru"})
    assert resp.status == 200
    v = await resp.json()
    conforms(v, "Verdict")
    assert v["id"] == "m-1" and v["context"] == {"chat_id": "c-9"}
    assert v["verdict"] == "fraud" and "avito" in v["summary"] and "Это не" in v["summary"]
    assert v["urls"][0]["host"] == "xn--vito-43d.ru"


async def test_scan_defaults_ignores_unknown_fields_and_accepts_fetch(client):
    resp = await client.post("/v1/scan", json={"text": "камера ещё продаётся?", "fetch": True, "whatever": [1]})
    v = await resp.json()
    assert resp.status == 200 and v["verdict"] == "safe" and "id" not in v and "context" not in v
    assert v["summary"] == "No signs of fraud found."  # the settings' lang
    resp = await client.post("/v1/scan", json={"text": "x", "id": 42})
    assert (await resp.json())["id"] == 42


async def test_long_text_is_cut_with_a_degraded_reason(client):
    text = "продаю " + "а" * 40000  # 80 KB of UTF-8: over the 64 KiB text limit, under the body limit
    resp = await client.post("/v1/scan", json={"text": text})
    v = await resp.json()
    assert resp.status == 200
    assert any(r["category"] == "degraded" for r in v["reasons"])


@pytest.mark.parametrize(
    "body, where",
    [
        ({"text": 5}, "text"),
        ({}, "text"),
        ({"text": "x", "id": True}, "id"),
        ({"text": "x", "id": 1.5}, "id"),
        ({"text": "x", "context": ["a"]}, "context"),
        ({"text": "x", "lang": "de"}, "lang"),
        ({"text": "x", "fetch": "yes"}, "fetch"),
        ({"text": None}, "text"),
    ],
)
async def test_wrong_types_are_invalid_request(client, body, where):
    message = await error_of(await client.post("/v1/scan", json=body), 400, "invalid_request")
    assert message.startswith(where)


@pytest.mark.parametrize(
    "raw, code",
    [
        (b"{", "invalid_json"),
        (b"", "invalid_json"),
        (b"   ", "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b'{"text": "a"} trailing', "invalid_json"),
        (b"[" * 100000, "invalid_json"),  # deep nesting: RecursionError inside json
        (b'["text"]', "invalid_request"),
        (b'"text"', "invalid_request"),
        (b"null", "invalid_request"),
    ],
)
async def test_malformed_bodies(client, raw, code):
    for path in ("/v1/scan", "/v1/scan/batch"):
        resp = await client.post(path, data=raw, headers={"Content-Type": "application/json"})
        await error_of(resp, 400, code)


async def test_lone_surrogates_in_json_are_scanned(client):
    resp = await client.post("/v1/scan", data=b'{"text": "pay \\ud800 https://avito.ru.pay-safe.top"}')
    assert resp.status == 200 and (await resp.json())["verdict"] in ("suspicious", "fraud")


# --------------------------------------------------------------------------- batch


async def test_batch_answers_in_order_with_errors_in_place(client):
    messages = [
        {"id": "a", "text": SCAM, "context": {"chat_id": "c1"}},
        {"id": "b"},
        "not an object",
        {"id": "d", "text": "Здравствуйте, камера ещё продаётся?", "lang": "ru"},
        {"id": 5, "text": 7},
    ]
    resp = await client.post("/v1/scan/batch", json={"messages": messages, "lang": "en", "fetch": False})
    assert resp.status == 200
    body = await resp.json()
    conforms(body, "BatchResponse")
    r = body["results"]
    assert [x.get("id") for x in r] == ["a", "b", None, "d", 5]
    assert r[0]["verdict"] == "fraud" and r[0]["context"] == {"chat_id": "c1"}
    assert r[1]["error"]["code"] == "invalid_request" and "messages.1.text" in r[1]["error"]["message"]
    assert r[2]["error"]["message"] == "messages.2: must be a JSON object"
    assert r[3]["verdict"] == "safe" and r[3]["summary"] == "Признаков мошенничества не найдено."
    assert r[4]["error"]["code"] == "invalid_request"


async def test_batch_shape_errors(client):
    await error_of(await client.post("/v1/scan/batch", json={"messages": {"text": "x"}}), 400, "invalid_request")
    await error_of(await client.post("/v1/scan/batch", json={"text": "x"}), 400, "invalid_request")
    resp = await client.post("/v1/scan/batch", json={"messages": []})
    assert resp.status == 200 and await resp.json() == {"results": []}


async def test_batch_message_count_limit(make_client):
    client = await make_client(settings(limits={"max_batch_messages": 3}))
    ok = await client.post("/v1/scan/batch", json={"messages": [{"text": "x"}] * 3})
    assert ok.status == 200
    message = await error_of(
        await client.post("/v1/scan/batch", json={"messages": [{"text": "x"}] * 4}), 413, "payload_too_large"
    )
    assert "at most 3" in message


async def test_batch_time_budget_leaves_an_error_per_unscanned_message(make_client):
    client = await make_client(settings(limits={"batch_budget_ms": 0.001}))
    resp = await client.post("/v1/scan/batch", json={"messages": [{"id": i, "text": SCAM} for i in range(5)]})
    body = await resp.json()
    assert resp.status == 200
    assert [x["id"] for x in body["results"]] == list(range(5))
    assert {x["error"]["code"] for x in body["results"]} == {"time_budget"}


# --------------------------------------------------------------------------- body sizes


async def test_single_body_limit(client):
    big = {"text": "a" * (256 * 1024)}
    await error_of(await client.post("/v1/scan", json=big), 413, "payload_too_large")
    # the same body is fine for the batch endpoint (8 MiB)
    resp = await client.post("/v1/scan/batch", json={"messages": [big]})
    assert resp.status == 200


async def test_body_limit_without_content_length(make_client):
    client = await make_client(settings(limits={"max_body_bytes": 4096}))

    async def chunks():
        for _ in range(10):
            yield b" " * 1024

    resp = await client.post("/v1/scan", data=chunks())  # chunked: no Content-Length
    await error_of(resp, 413, "payload_too_large")


async def test_batch_body_limit(make_client):
    client = await make_client(settings(limits={"max_batch_body_bytes": 2048}))
    resp = await client.post("/v1/scan/batch", json={"messages": [{"text": "x" * 3000}]})
    await error_of(resp, 413, "payload_too_large")


async def test_huge_body_is_refused_and_the_server_keeps_serving(client):
    resp = await client.post("/v1/scan/batch", data=io.BytesIO(b"x" * (9 * 1024 * 1024)))
    await error_of(resp, 413, "payload_too_large")
    assert (await client.get("/healthz")).status == 200


# --------------------------------------------------------------------------- errors, health, metrics, openapi


async def test_unknown_paths_and_methods(client):
    await error_of(await client.get("/v1/nope"), 404, "not_found")
    resp = await client.get("/v1/scan")
    await error_of(resp, 405, "method_not_allowed")
    assert resp.headers["Allow"] == "POST"


async def test_internal_errors_are_json_without_traceback(make_client, scanner, monkeypatch, caplog):
    client = await make_client()

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(client.app[STATE].scanner, "scan", boom)
    with caplog.at_level(logging.ERROR, logger="phishguard.service"):
        message = await error_of(await client.post("/v1/scan", json={"text": "x"}), 500, "internal")
    assert "secret" not in message
    assert "secret internals" in caplog.text  # logged for the operator


async def test_health_and_readiness(client):
    resp = await client.get("/healthz")
    assert resp.status == 200 and await resp.json() == {"status": "ok"}
    resp = await client.get("/readyz")
    body = await resp.json()
    conforms(body, "Health")
    assert resp.status == 200 and body["rules_version"].startswith("r-")
    client.app[STATE].stopping = True
    await error_of(await client.get("/readyz"), 503, "not_ready")
    assert (await client.post("/v1/scan", json={"text": "x"})).status == 200  # still answers while stopping


async def test_metrics(client):
    await client.post("/v1/scan", json={"text": SCAM})
    await client.post("/v1/scan", json={"text": 1})
    await client.post("/v1/scan/batch", json={"messages": [{"text": SCAM}, {"text": "hi"}]})
    resp = await client.get("/metrics")
    assert resp.status == 200 and resp.content_type == "text/plain"
    text = await resp.text()
    assert 'phishguard_http_requests_total{endpoint="/v1/scan",status="200"} 1.0' in text
    assert 'phishguard_http_requests_total{endpoint="/v1/scan",status="400"} 1.0' in text
    assert 'phishguard_http_request_duration_seconds_count{endpoint="/v1/scan/batch",status="200"} 1.0' in text
    assert 'phishguard_verdicts_total{verdict="fraud"} 2.0' in text
    assert 'phishguard_verdicts_total{verdict="safe"} 1.0' in text
    assert re.search(r'phishguard_rule_hits_total\{category="lookalike_domain",rule="lookalike.homoglyph"\} 2.0', text)
    assert re.search(r'phishguard_rules_info\{models="none",rules_version="r-\w+"\} 1.0', text)


async def test_openapi_is_valid_and_describes_every_route(client):
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    validate_openapi(doc)
    assert doc == json.loads(json.dumps(OPENAPI))
    for method, path, _, _ in ROUTES:
        assert method.lower() in doc["paths"][path], path
    # a request the schema accepts is accepted by the service, and the schema is strict on types
    request = {"$ref": "#/components/schemas/ScanRequest"}
    jsonschema.Draft202012Validator({**doc, **request}).validate({"text": "x", "lang": "ru", "context": {}})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator({**doc, **request}).validate({"text": 5})


# --------------------------------------------------------------------------- auth


async def test_auth_with_keys(make_client):
    client = await make_client(settings(api_keys=KEYS))
    resp = await client.post("/v1/scan", json={"text": "x"})
    await error_of(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    bad = {"Authorization": "Bearer " + new_key()}
    await error_of(await client.post("/v1/scan", json={"text": "x"}, headers=bad), 401, "unauthorized")
    basic = {"Authorization": "Basic " + SCAN_KEY}
    await error_of(await client.post("/v1/scan/batch", json={"messages": []}, headers=basic), 401, "unauthorized")
    good = {"Authorization": "Bearer " + SCAN_KEY}
    assert (await client.post("/v1/scan", json={"text": "x"}, headers=good)).status == 200
    # auth comes before the body is looked at
    await error_of(await client.post("/v1/scan", data=b"{", headers=bad), 401, "unauthorized")
    await error_of(await client.post("/v1/scan", data=b"{", headers=good), 400, "invalid_json")
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):  # open by default
        assert (await client.get(path)).status == 200, path


async def test_health_and_metrics_can_be_closed(make_client):
    s = settings(api_keys=KEYS, open_health=False, open_metrics=False, open_openapi=False)
    client = await make_client(s)
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        await error_of(await client.get(path), 401, "unauthorized")
        assert (await client.get(path, headers={"Authorization": f"Bearer {SCAN_KEY}"})).status == 200


async def test_reload_needs_an_admin_key_and_swaps_the_scanner(make_client):
    client = await make_client(settings(api_keys=KEYS))
    state = client.app[STATE]
    before = state.scanner
    await error_of(await client.post("/v1/admin/reload"), 401, "unauthorized")
    resp = await client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {SCAN_KEY}"})
    await error_of(resp, 403, "forbidden")
    resp = await client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    body = await resp.json()
    conforms(body, "Reloaded")
    assert resp.status == 200 and body["rules_version"] == before.rules_version
    assert state.scanner is not before
    resp = await client.post("/v1/scan", json={"text": SCAM}, headers={"Authorization": f"Bearer {SCAN_KEY}"})
    assert (await resp.json())["verdict"] == "fraud"


async def test_failed_reload_keeps_the_old_scanner(make_client):
    def broken() -> Settings:
        raise ConfigError("invalid setting thresholds.fraud: broken")

    client = await make_client(reload_settings=broken)
    before = client.app[STATE].scanner
    message = await error_of(await client.post("/v1/admin/reload"), 500, "reload_failed")
    assert "thresholds.fraud" in message
    assert client.app[STATE].scanner is before


async def test_reload_rotates_keys(make_client):
    new = new_key()
    rotated = settings(api_keys=[{"tenant": "acme", "sha256": hash_key(new)}, KEYS[1]])
    client = await make_client(settings(api_keys=KEYS), reload_settings=lambda: rotated)
    assert (await client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN_KEY}"})).status == 200
    old_h, new_h = {"Authorization": f"Bearer {SCAN_KEY}"}, {"Authorization": f"Bearer {new}"}
    await error_of(await client.post("/v1/scan", json={"text": "x"}, headers=old_h), 401, "unauthorized")
    assert (await client.post("/v1/scan", json={"text": "x"}, headers=new_h)).status == 200


def test_keys_are_stored_hashed():
    key = new_key()
    store = KeyStore([ApiKey(tenant="t", sha256=hash_key(key).upper())])
    assert store.lookup(key).tenant == "t"
    assert store.lookup(key + "x") is None and store.lookup("") is None
    assert key not in ApiKey(tenant="t", sha256=hash_key(key)).model_dump_json()
    assert parse_bearer("Bearer") is None and parse_bearer("Token abc") is None
    with pytest.raises(ValueError):
        ApiKey(tenant="t", sha256="not-a-hash")


def test_keys_from_environment(monkeypatch):
    monkeypatch.setenv("PHISHGUARD_SERVICE__API_KEYS", json.dumps(KEYS))
    monkeypatch.setenv("PHISHGUARD_SERVICE__LIMITS__RATE_PER_KEY", "5")
    s = load_settings(None)
    assert [k.tenant for k in s.service.api_keys] == ["acme", "ops"]
    assert s.service.limits.rate_per_key == 5.0
    monkeypatch.setenv("PHISHGUARD_SERVICE__API_KEYS", '[{"tenant": "x", "sha256": "abc"}]')
    with pytest.raises(ConfigError, match="service.api_keys"):
        load_settings(None)


# --------------------------------------------------------------------------- rate and in-flight limits


async def test_rate_limit_per_key(make_client):
    client = await make_client(settings(api_keys=KEYS, limits={"rate_per_key": 0.5, "rate_burst": 2}))
    acme = {"Authorization": f"Bearer {SCAN_KEY}"}
    ops = {"Authorization": f"Bearer {ADMIN_KEY}"}
    for _ in range(2):
        assert (await client.post("/v1/scan", json={"text": "x"}, headers=acme)).status == 200
    resp = await client.post("/v1/scan", json={"text": "x"}, headers=acme)
    await error_of(resp, 429, "rate_limited")
    assert 1 <= int(resp.headers["Retry-After"]) <= 2
    assert (await client.post("/v1/scan", json={"text": "x"}, headers=ops)).status == 200  # another key
    assert (await client.get("/healthz", headers=acme)).status == 200  # health is not rate limited


def test_token_bucket_refills():
    now = [0.0]
    rl = RateLimiter(rate=10.0, burst=1, clock=lambda: now[0])
    assert rl.acquire("k") == 0.0
    assert rl.acquire("k") == pytest.approx(0.1)
    now[0] = 0.1
    assert rl.acquire("k") == 0.0
    assert RateLimiter(rate=0, burst=1).acquire("k") == 0.0  # 0: unlimited


async def test_in_flight_cap_answers_503_overloaded(make_client):
    client = await make_client(settings(limits={"max_in_flight": 1, "retry_after_s": 2}))
    release = asyncio.Event()

    async def slow_body():
        yield b'{"text": '
        await release.wait()
        yield b'"hello"}'

    first = asyncio.create_task(client.post("/v1/scan", data=slow_body()))
    state = client.app[STATE]
    for _ in range(200):  # until the first request holds the only slot
        if state.in_flight.current == 1:
            break
        await asyncio.sleep(0.005)
    assert state.in_flight.current == 1
    resp = await client.post("/v1/scan", json={"text": "x"})
    await error_of(resp, 503, "overloaded")
    assert resp.headers["Retry-After"] == "2"
    assert (await client.get("/healthz")).status == 200  # health is never capped
    release.set()
    assert (await first).status == 200
    assert (await client.post("/v1/scan", json={"text": "x"})).status == 200
    assert state.in_flight.current == 0


# --------------------------------------------------------------------------- access log


async def test_access_log_lines_are_json_without_text(make_client, caplog):
    client = await make_client(settings(api_keys=KEYS))
    with caplog.at_level(logging.INFO, logger="phishguard.access"):
        await client.post("/v1/scan", json={"text": SCAM, "id": "m-7"}, headers={"Authorization": f"Bearer {SCAN_KEY}"})
        await client.post("/v1/scan/batch", json={"messages": [{"text": SCAM}, {}]}, headers={"Authorization": f"Bearer {SCAN_KEY}"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "phishguard.access"]
    single, batch = lines
    assert single["id"] == "m-7" and single["tenant"] == "acme" and single["status"] == 200
    assert single["verdict"] == "fraud" and single["latency_ms"] > 0 and single["path"] == "/v1/scan"
    assert batch["verdicts"] == {"fraud": 1, "error": 1} and batch["messages"] == 2
    assert "аvito" not in caplog.text


async def test_access_log_text_when_configured(make_client, caplog):
    client = await make_client(settings(log_text=True))
    with caplog.at_level(logging.INFO, logger="phishguard.access"):
        await client.post("/v1/scan", json={"text": SCAM})
    assert json.loads(caplog.records[-1].getMessage())["text"] == SCAM


async def test_scanner_is_built_at_startup_when_not_given(aiohttp_client):
    client = await aiohttp_client(create_app(settings()))
    assert (await client.get("/readyz")).status == 200
    assert (await (await client.post("/v1/scan", json={"text": SCAM})).json())["verdict"] == "fraud"


async def test_fetch_true_judges_pages_and_refuses_internal_addresses(client):
    resp = await client.post("/v1/scan", json={"text": "Оплата тут http://127.0.0.1/pay", "fetch": True})
    assert resp.status == 200
    body = await resp.json()
    refused = [r for r in body["reasons"] if r["rule"] == "page.fetch-refused"]
    assert refused and refused[0]["category"] == "degraded" and "127.0.0.1" in refused[0]["evidence"]
    # without fetch, no page reason at all
    plain = await (await client.post("/v1/scan", json={"text": "Оплата тут http://127.0.0.1/pay"})).json()
    assert not [r for r in plain["reasons"] if r["rule"].startswith("page.")]


async def test_fetch_time_budget_answers_without_pages(make_client):
    client = await make_client(Settings(lang="en", fetch={"budget_ms": 100}))
    state = client.server.app[STATE]

    async def slow_fetch(url):
        await asyncio.sleep(5)

    state.fetcher.fetch = slow_fetch
    resp = await client.post(
        "/v1/scan/batch", json={"messages": [{"id": "a", "text": "https://safe-deal.top/pay"}], "fetch": True}
    )
    (result,) = (await resp.json())["results"]
    failed = [r for r in result["reasons"] if r["rule"] == "page.fetch-failed"]
    assert failed and "time budget" in failed[0]["message"]["en"]
    assert "url.risky-tld" in {r["rule"] for r in result["reasons"]}  # the scan itself still answered


# --------------------------------------------------------------------------- request parsing fast path


@pytest.mark.parametrize(
    "raw",
    [
        b'{"text": "a", "text": "b"}',  # duplicate key: the last wins on both paths
        b'{"text": "\\ud800x"}',  # lone surrogate: only json.loads takes it
        b'\xef\xbb\xbf{"text": "a"}',  # UTF-8 BOM: only json.loads takes it
        '{"text": "a"}'.encode("utf-16"),  # UTF-16: only json.loads takes it
        b'{"text": "a", "context": {"n": 123456789012345678901234567890, "f": 1e400, "l": [1, {"q": null}]}}',
        b' {"text": "\\u0000\\t", "id": 7, "lang": "ru", "fetch": false} \n',
    ],
)
def test_fast_parse_accepts_what_the_original_path_accepts_with_the_same_values(raw):
    from phishguard.service.body import parse_json_object
    from phishguard.service.schemas import ScanRequest

    slow = ScanRequest.model_validate(parse_json_object(raw))
    try:
        fast = ScanRequest.model_validate_json(raw)
    except ValueError:
        return  # read_model falls back to the original path: same answer by construction
    assert fast == slow


async def test_bodies_only_json_loads_takes_are_still_scanned(client):
    for raw in (b'\xef\xbb\xbf{"text": "hi", "id": "bom"}', b'{"text": "\\ud800", "id": "s"}'):
        resp = await client.post("/v1/scan", data=raw, headers={"Content-Type": "application/json"})
        assert resp.status == 200, await resp.text()


# --------------------------------------------------------------------------- batched access log


async def test_access_lines_are_batched_then_flushed():
    from phishguard.service import accesslog

    out = io.StringIO()
    buf = accesslog.LineBuffer(out)
    buf.add('{"a":1}')
    buf.add('{"a":2}')
    assert out.getvalue() == ""  # waiting for the timer
    await asyncio.sleep(accesslog.FLUSH_S + 0.05)
    assert out.getvalue() == '{"a":1}\n{"a":2}\n'
    buf.add('{"a":3}')
    buf.close()  # what logging.shutdown() does at exit
    assert out.getvalue().endswith('{"a":3}\n')


def test_access_lines_off_an_event_loop_are_written_at_once():
    from phishguard.service import accesslog

    out = io.StringIO()
    accesslog.LineBuffer(out).add("x")
    assert out.getvalue() == "x\n"


def test_setup_logging_routes_access_lines_through_the_line_buffer(monkeypatch):
    from phishguard.service import accesslog

    saved = accesslog.ACCESS_LOGGER.handlers[:], accesslog.ACCESS_LOGGER.propagate, accesslog.ACCESS_LOGGER.level
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    try:
        accesslog.setup_logging(True)
        accesslog.log_request({"status": 200})
        accesslog.ACCESS_LOGGER.handlers[0].flush()
        assert json.loads(err.getvalue())["status"] == 200
    finally:
        handlers, propagate, level = saved
        accesslog.ACCESS_LOGGER.handlers[:] = handlers
        accesslog.ACCESS_LOGGER.propagate = propagate
        accesslog.ACCESS_LOGGER.setLevel(level)
        monkeypatch.setattr(accesslog, "_sink", None)


async def test_in_flight_wait_idle():
    """The flag writer's signal: True at once with nothing in hand, True when the last request leaves,
    False when the time runs out, and a request that starts before the waiter runs is waited for too."""
    import asyncio

    from phishguard.service.limits import InFlight

    f = InFlight(4)
    assert await f.wait_idle(0.0)
    assert f.enter()
    assert not await f.wait_idle(0.05)
    waiter = asyncio.create_task(f.wait_idle(5.0))
    await asyncio.sleep(0.01)
    f.leave()
    assert f.enter()  # another request starts in the same turn, before the waiter runs
    await asyncio.sleep(0.05)
    assert not waiter.done()
    f.leave()
    assert await asyncio.wait_for(waiter, 1.0)
    assert f.current == 0
