"""``phishguard serve`` and ``phishguard keys create`` as a user runs them: a real server with two
worker processes on a free loopback port, scanned through, stopped with SIGTERM during a burst."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

from phishguard.cli import main
from phishguard.service import runner
from phishguard.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]
SCAM = "Получите оплату: https://аvito.ru/pay/123"
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+) \((\d+) workers, (\w+) event loop\)")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHISHGUARD_", "PROMETHEUS_"))}
    env.update(extra)
    return env


def _stop(proc: subprocess.Popen) -> None:
    """Kill the server's process group (supervisor and workers) if it is still running."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    else:  # the supervisor is gone; make sure no worker of its group is left
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _start(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.Popen, int, Path]:
    log = tmp_path / "serve.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "phishguard", "serve", "--port", "0", *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=_env(**{"PHISHGUARD_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db", **env}),
            cwd=ROOT,
            start_new_session=True,  # its own process group: _stop() can end the workers too
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = LISTENING.search(log.read_text(encoding="utf-8", errors="replace"))
        if m:
            return proc, int(m.group(1)), log
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    _stop(proc)
    pytest.fail(f"serve did not start: {log.read_text(errors='replace')}")


async def _progress(session: aiohttp.ClientSession, base: str) -> tuple[int, int]:
    """(requests in flight, scan requests answered) over all workers, from /metrics."""
    async with session.get(base + "/metrics") as resp:
        text = await resp.text()
    m = re.search(r"^phishguard_http_in_flight (\S+)$", text, re.MULTILINE)
    done = re.findall(r'^phishguard_http_requests_total\{endpoint="/v1/scan[^"]*",status="\d+"\} (\S+)$', text, re.MULTILINE)
    return int(float(m.group(1))) if m else 0, int(sum(float(x) for x in done))


@pytest.mark.slow
async def test_serve_two_workers_sigterm_during_a_burst(tmp_path, wait_ready):
    proc, port, log = _start(
        tmp_path,
        "--workers",
        "2",
        PHISHGUARD_SERVICE__LIMITS__BATCH_BUDGET_MS="60000",
        PHISHGUARD_SERVICE__SHUTDOWN_GRACE="30",
        PHISHGUARD_LANG="en",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # a fresh connection per request: the burst spreads over both workers
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True, limit=0)) as session:
            await wait_ready(session, base, tries=200)
            async with session.post(base + "/v1/scan", json={"text": SCAM, "id": "m-1"}) as resp:
                v = await resp.json()
                assert resp.status == 200 and v["verdict"] == "fraud" and v["id"] == "m-1"

            n_batches, size, n_single = 16, 1000, 20  # ~1 s of scanning per worker: SIGTERM lands mid-burst
            messages = [{"id": i, "text": f"{SCAM} #{i}" if i % 2 else f"камера {i} ещё продаётся?"} for i in range(size)]

            async def batch() -> list[dict]:
                async with session.post(base + "/v1/scan/batch", json={"messages": messages}) as resp:
                    assert resp.status == 200, await resp.text()
                    return (await resp.json())["results"]

            async def single(i: int) -> dict:
                async with session.post(base + "/v1/scan", json={"text": SCAM, "id": str(i)}) as resp:
                    assert resp.status == 200
                    return await resp.json()

            burst = [asyncio.create_task(batch()) for _ in range(n_batches)]
            burst += [asyncio.create_task(single(i)) for i in range(n_single)]
            for _ in range(1000):  # every request reached a worker, and some are still being handled
                in_flight, answered = await _progress(session, base)
                if in_flight + answered - 1 >= n_batches + n_single:
                    break
                await asyncio.sleep(0.005)
            assert in_flight >= 2, "the burst ended before SIGTERM: make it larger"
            proc.send_signal(signal.SIGTERM)
            done = await asyncio.wait_for(asyncio.gather(*burst), timeout=60)
        for results in done[:n_batches]:  # every request got its full answer
            assert [r["id"] for r in results] == list(range(size))
            assert all("verdict" in r for r in results)
            assert [r["verdict"] for r in results[:2]] == ["safe", "fraud"]
        assert all(d["verdict"] == "fraud" for d in done[n_batches:])
        assert proc.wait(timeout=40) == 0
    finally:
        _stop(proc)
    lines = [json.loads(ln) for ln in log.read_text(encoding="utf-8").splitlines() if ln.startswith("{")]
    access = [ln for ln in lines if "status" in ln and ln.get("path") == "/v1/scan/batch"]
    assert len(access) == n_batches and {ln["status"] for ln in access} == {200}
    assert all(ln["tenant"] == "local" and ln["verdicts"]["fraud"] == size // 2 for ln in access), [
        (ln["tenant"], ln["verdicts"]) for ln in access]
    assert "аvito" not in log.read_text(encoding="utf-8")  # no message text in the logs
    assert sum("stopping" in ln.get("event", "") for ln in lines) == 2


@pytest.mark.slow
@pytest.mark.parametrize("event_loop", ["auto", "asyncio"])
async def test_serve_one_worker_reloads_on_sighup(tmp_path, event_loop, wait_ready):
    proc, port, log = _start(tmp_path, "--workers", "1", PHISHGUARD_SERVICE__EVENT_LOOP=event_loop)
    base = f"http://127.0.0.1:{port}"
    assert LISTENING.search(log.read_text(encoding="utf-8")).group(3) == ("uvloop" if event_loop == "auto" else "asyncio")
    try:
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, base, tries=200)
            proc.send_signal(signal.SIGHUP)
            for _ in range(200):
                if "reloaded" in log.read_text(encoding="utf-8"):
                    break
                await asyncio.sleep(0.05)
            assert "reloaded" in log.read_text(encoding="utf-8")
            async with session.post(base + "/v1/scan", json={"text": SCAM}) as resp:
                assert (await resp.json())["verdict"] == "fraud"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        _stop(proc)


def test_serve_refuses_a_public_address_without_keys(capsys):
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("phishguard: error: refusing to listen on 0.0.0.0 without API keys")
    assert len(err.strip().splitlines()) == 1
    runner.check_bind("0.0.0.0", has_keys=True, insecure=False)
    runner.check_bind("0.0.0.0", has_keys=False, insecure=True)
    runner.check_bind("::1", has_keys=False, insecure=False)


def test_serve_checks_aiohttp_and_its_c_parser(monkeypatch):
    runner.check_runtime()
    from aiohttp import http_parser

    monkeypatch.setattr(http_parser, "HttpRequestParser", http_parser.HttpRequestParserPy)
    with pytest.raises(ConfigError, match="C HTTP parser"):
        runner.check_runtime()


def test_event_loop_setting(monkeypatch):
    import uvloop

    assert runner.loop_factory("auto") is uvloop.new_event_loop is runner.loop_factory("uvloop")
    assert runner.loop_factory("asyncio") is None
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if not installed
    assert runner.loop_factory("auto") is None
    with pytest.raises(ConfigError, match="uvloop is not installed"):
        runner.loop_factory("uvloop")


def test_serve_reports_a_busy_port(capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().err


def test_keys_create_prints_the_key_once_and_a_config_entry(tmp_path, capsys):
    from phishguard.service.keys import KeyStore

    assert main(["keys", "create", "--tenant", "Shop «Ромашка»", "--admin"]) == 0
    out = capsys.readouterr().out
    key = re.search(r"^  (pg_\S+)$", out, re.MULTILINE).group(1)
    assert out.count(key) == 1
    block = out[out.index("service:") : out.index("or, in the environment")]
    config = tmp_path / "config.yaml"
    config.write_text(block, encoding="utf-8")
    entry = load_settings(config).service.api_keys[0]
    assert entry.tenant == "Shop «Ромашка»" and entry.admin
    assert KeyStore([entry]).lookup(key) is entry
    env = re.search(r"PHISHGUARD_SERVICE__API_KEYS='(.*)'", out).group(1)
    assert json.loads(env)[0]["sha256"] == entry.sha256
    assert yaml.safe_load(block)["service"]["api_keys"][0]["sha256"] == entry.sha256
    assert main(["keys", "create", "--tenant", " "]) == 2
