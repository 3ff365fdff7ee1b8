"""Secrets and privacy (issue #9): what the service keeps, logs and exposes of keys, passwords and
message text, and that model files are verified before they are loaded.

* API keys: compared with ``hmac.compare_digest`` against every stored SHA-256 (no early exit), and
  neither the key nor its hash reaches the access log or ``/metrics`` of a live ``phishguard serve``.
* Message text: not in the access log unless ``service.log_text`` (with a control run that turns it on,
  so the check can fail); never in metric labels (nor the links, nor the sender id).
* The store: ``moderation.store_text`` ``none`` / ``redacted`` honoured (checked on a dump of the whole
  SQLite database, not only the flag's text column); a purge leaves neither texts nor sender ids.
* Moderators' passwords only as scrypt hashes; session tokens only as SHA-256.
* A tampered ``models/*.npz`` is refused (sha256 against its card) before numpy reads it.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from phishguard.classifier.card import ModelIntegrityError
from phishguard.moderation.store import open_store
from phishguard.moderation.store.base import FlagQuery
from phishguard.service import keys as keys_module
from phishguard.service.app import create_app
from phishguard.service.config import ApiKey
from phishguard.service.keys import KeyStore, hash_key, new_key
from phishguard.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
MARKER = "zqxprivacymarker7731"
SENDER = "sender-zqx-4412"
PHONE = "+7 912 345-67-89"
EMAIL = "zqx.seller@mail.ru"
SCAM = (
    f"{MARKER} Покупатель оплатил заказ, получите деньги по ссылке https://avito-pay-{MARKER}.ru/pay/1 "
    f"и пишите в WhatsApp {PHONE} или {EMAIL}"
)


@pytest.fixture(scope="module")
def harness(conformance_harness: Any) -> Any:
    return conformance_harness


def sqlite_dump(db: Path) -> str:
    """Every row of every table of a SQLite database, as SQL text."""
    with sqlite3.connect(db) as conn:
        return "\n".join(conn.iterdump())


# ------------------------------------------------------------------------------------------ API keys


def test_key_lookup_compares_every_stored_hash_in_constant_time(monkeypatch):
    calls: list[tuple[bytes, bytes]] = []
    real = keys_module.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", spy)
    keys = [new_key() for _ in range(5)]
    store = KeyStore([ApiKey(tenant=f"t{i}", sha256=hash_key(k)) for i, k in enumerate(keys)])
    assert store.lookup(keys[0]).tenant == "t0"
    assert len(calls) == 5, "a match must not stop the comparisons early"
    calls.clear()
    assert store.lookup("pg_" + "x" * 43) is None
    assert len(calls) == 5
    assert all(len(a) == len(b) == 32 for a, b in calls), "digests are compared, never the keys themselves"
    assert not any(k.encode() in a + b for k in keys for a, b in calls)


async def _scan(session: aiohttp.ClientSession, base: str, key: str, **body: Any) -> tuple[int, dict]:
    async with session.post(base + "/v1/scan", json=body, headers={"Authorization": f"Bearer {key}"}) as resp:
        return resp.status, await resp.json()


async def _get_text(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as resp:
        return await resp.text()


async def _drive(base: str, key: str) -> str:
    """A flagged scan with the key, one with a wrong key; the /metrics text afterwards."""
    async with aiohttp.ClientSession() as session:
        status, verdict = await _scan(session, base, key, text=SCAM, id="m-1", context={"sender_id": SENDER})
        assert status == 200 and verdict["verdict"] != "safe", verdict
        status, _ = await _scan(session, base, "pg_wrong" + MARKER, text=SCAM)
        assert status == 401
        return await _get_text(session, base + "/metrics")


def _access_lines(log: Path) -> list[str]:
    time.sleep(0.3)  # the access log reaches stderr at most 0.1 s late
    return [line for line in log.read_text(errors="replace").splitlines() if line.startswith('{"method"')]


def test_live_service_logs_and_metrics_carry_no_key_no_text_no_url(harness, tmp_path):
    with harness.running_service(tmp_path) as service:
        metrics = asyncio.run(_drive(service.base, service.api_key))
        lines = _access_lines(service.log)
    log = service.log.read_text(errors="replace")
    assert len(lines) >= 2 and '"status":401' in log
    secrets_ = {"the key": service.api_key, "its hash": hash_key(service.api_key), "the wrong key": "pg_wrong"}
    for what, value in secrets_.items():
        assert value not in log, f"{what} is in the service log"
        assert value not in metrics, f"{what} is in /metrics"
    for what, value in {"message text": MARKER, "sender id": SENDER, "phone": PHONE, "e-mail": EMAIL}.items():
        assert value not in log, f"{what} is in the service log (service.log_text is off)"
        assert value not in metrics, f"{what} is in a /metrics label"
    assert "avito-pay" not in metrics and "https://" not in metrics.replace("https://prometheus", "")


def test_log_text_on_does_put_the_text_in_the_access_log(harness, tmp_path):
    """Control for the test above: the same grep finds the text once ``service.log_text`` is on."""
    with harness.running_service(tmp_path, PHISHGUARD_SERVICE__LOG_TEXT="true") as service:
        asyncio.run(_drive(service.base, service.api_key))
        lines = _access_lines(service.log)
    assert any(MARKER in line for line in lines)
    assert not any(service.api_key in line for line in lines)


# ------------------------------------------------------------------------------------------ the store


async def _flag_through_the_service(aiohttp_client: Any, db_url: str, **moderation: Any) -> None:
    """Scan SCAM through the service app (in-process, loopback socket) and wait until its flag is stored."""
    app = create_app(load_settings(None, moderation=moderation))
    client = await aiohttp_client(app)
    resp = await client.post("/v1/scan", json={"text": SCAM, "id": "m-1", "context": {"sender_id": SENDER}})
    assert resp.status == 200 and (await resp.json())["verdict"] != "safe"
    store = open_store(db_url)
    try:
        for _ in range(200):
            if store.list_flags(FlagQuery(limit=5)).items:
                return
            await asyncio.sleep(0.05)
    finally:
        store.close()
    pytest.fail("the flag was never stored")


def _db(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "phishguard.db"  # tests/conftest.py points PHISHGUARD_DATABASE_URL here
    return f"sqlite:///{path}", path


@pytest.mark.parametrize("mode", ["none", "redacted"])
async def test_store_text_none_and_redacted_keep_no_text_or_personal_data(aiohttp_client, tmp_path, mode):
    url, path = _db(tmp_path)
    await _flag_through_the_service(aiohttp_client, url, store_text=mode)
    store = open_store(url)
    try:
        flag = store.list_flags(FlagQuery(limit=5)).items[0]
    finally:
        store.close()
    dump = sqlite_dump(path)
    for what, value in {"phone": PHONE, "e-mail": EMAIL}.items():
        assert value not in dump, f"store_text={mode}: the {what} is stored"
    if mode == "none":
        assert flag.text is None
        # the reasons keep their evidence (short matched snippets, e.g. "пишите в WhatsApp") and the links:
        # what a moderator judges; the rest of the message, which no rule quotes, must be gone
        assert SCAM not in dump and "Покупатель оплатил заказ" not in dump, "store_text=none: message text is stored"
    else:
        assert "[phone]" in flag.text and "[email]" in flag.text and MARKER in flag.text


async def test_purge_removes_texts_and_sender_ids(aiohttp_client, tmp_path):
    url, path = _db(tmp_path)
    await _flag_through_the_service(aiohttp_client, url, store_text="full")
    assert SENDER in sqlite_dump(path) and "Покупатель оплатил" in sqlite_dump(path)  # control
    store = open_store(url)
    try:
        purged = store.purge(before=time.time() + 1)
        flag = store.list_flags(FlagQuery(limit=5)).items[0]
    finally:
        store.close()
    assert purged["flags"] == 1 and flag.text is None
    dump = sqlite_dump(path)
    assert SENDER not in dump, "a sender id survived the purge"
    assert "Покупатель оплатил" not in dump and PHONE not in dump, "message text survived the purge"


# ------------------------------------------------------------------------------------- passwords, tokens


async def test_passwords_only_as_scrypt_and_tokens_only_as_sha256(aiohttp_client, tmp_path):
    _, path = _db(tmp_path)
    password = f"pw-{MARKER}"
    subprocess.run(
        [sys.executable, "-m", "phishguard", "users", "add", "anna", "--role", "moderator"],
        input=password + "\n", text=True, check=True, capture_output=True, cwd=ROOT,
    )  # PHISHGUARD_DATABASE_URL (tests/conftest.py) is inherited
    client = await aiohttp_client(create_app(load_settings(None)))
    resp = await client.post("/v1/moderation/login", json={"user": "anna", "password": password})
    assert resp.status == 200
    token = (await resp.json())["token"]
    dump = sqlite_dump(path)
    assert password not in dump and token not in dump
    assert hashlib.sha256(token.encode()).hexdigest() in dump
    with sqlite3.connect(path) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM users WHERE name = 'anna'").fetchone()
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**14, 8, 1) and len(salt) == 32 and len(digest) == 64


# ------------------------------------------------------------------------------------------- models


@pytest.fixture
def tampered_models(tmp_path, monkeypatch) -> Path:
    """A copy of the shipped models/ whose text.npz has one bit flipped."""
    from phishguard.resources import shipped_dir
    from phishguard.ruleset import model_matchers

    models = tmp_path / "models"
    shutil.copytree(shipped_dir("models"), models)
    npz = models / "text.npz"
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0x01
    npz.write_bytes(bytes(data))
    monkeypatch.setattr(model_matchers, "_DIR", models)
    return models


def test_a_tampered_model_is_refused_before_numpy_reads_it(tampered_models, monkeypatch):
    import numpy as np

    from phishguard.classifier.serve import load_numpy_model

    def no_load(*a: object, **k: object) -> None:
        raise AssertionError("numpy.load reached with a file that failed its sha256 check")

    monkeypatch.setattr(np, "load", no_load)
    with pytest.raises(ModelIntegrityError, match=r"text\.npz: sha256 .* does not match its card.*refusing to load"):
        load_numpy_model(tampered_models / "text.json")


def test_a_scanner_on_a_tampered_model_degrades_and_says_so(tampered_models, caplog):
    from phishguard.scanner import Scanner

    verdict = Scanner(load_settings(None, lang="en")).scan("Получите оплату по ссылке и введите данные карты")
    rules = [r.rule for r in verdict.reasons]
    assert "degraded.rule-failed" in rules and "model.text-scam" not in rules
    assert "text" not in verdict.models
    assert "does not match its card" in caplog.text
