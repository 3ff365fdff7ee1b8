"""What survives a crash: ``kill -9`` of ``phishguard serve`` in the middle of a burst of moderator
decisions loses none that were acknowledged; a SIGTERM flushes the flag queue; after a crash the
flags lost stay within the queue's bound and the store is usable."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from phishguard.moderation.passwords import hash_password
from phishguard.moderation.store import open_store
from phishguard.moderation.store.base import FlagQuery

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


def _serve(tmp_path: Path, db_url: str, port: int, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHISHGUARD_", "PROMETHEUS_"))}
    env.update(PHISHGUARD_DATABASE_URL=db_url, PHISHGUARD_MODERATION__POLL_INTERVAL_S="0.2")
    with open(tmp_path / "serve.log", "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "phishguard", "serve", "--port", str(port), *args],
            stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=ROOT, start_new_session=True,
        )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    proc.wait(30)


def _prepared(db_url: str) -> None:
    store = open_store(db_url)
    try:
        store.migrate()
        store.add_user("anna", "moderator", hash_password(PASSWORD), now=time.time())
    finally:
        store.close()


def _scam(i: int) -> str:
    return f"Покупатель оплатил заказ, получите деньги: https://avito-pay-{i}.ru/pay/{i}"


async def _scan_all(session: aiohttp.ClientSession, base: str, n: int) -> int:
    async def one(i: int) -> bool:
        async with session.post(base + "/v1/scan", json={"text": _scam(i), "id": f"m-{i}"}) as resp:
            return resp.status == 200 and (await resp.json())["verdict"] != "safe"

    return sum(await asyncio.gather(*(one(i) for i in range(n))))


def _flag_ids(db_url: str) -> list[int]:
    store = open_store(db_url)
    try:
        ids, before = [], None
        while True:
            page = store.list_flags(FlagQuery(limit=500, before_id=before))
            ids += [f.id for f in page.items]
            if page.next is None:
                return ids
            before = page.next
    finally:
        store.close()


async def test_kill_9_during_a_burst_of_decisions_loses_none_acknowledged(tmp_path, store_url, wait_ready):
    _prepared(store_url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(tmp_path, store_url, port, "--workers", "2")
    acked: list[int] = []
    try:
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, base, proc)
            assert await _scan_all(session, base, 120) == 120
            for _ in range(200):
                ids = _flag_ids(store_url)
                if len(ids) == 120:
                    break
                await asyncio.sleep(0.05)
            assert len(ids) == 120
            async with session.post(base + "/v1/moderation/login", json={"user": "anna", "password": PASSWORD}) as resp:
                auth = {"Authorization": f"Bearer {(await resp.json())['token']}"}

            async def decide(fid: int) -> None:
                try:
                    async with session.post(f"{base}/v1/moderation/flags/{fid}/decision",
                                            json={"action": "confirm", "note": f"burst {fid}"}, headers=auth) as r:
                        if r.status == 200:
                            await r.json()
                            acked.append(fid)
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass  # the server died under this request: not acknowledged

            async def killer() -> None:
                while len(acked) < 30:
                    await asyncio.sleep(0.001)
                _kill(proc)

            await asyncio.gather(killer(), *(decide(fid) for fid in ids))
    finally:
        _kill(proc)
    assert 30 <= len(acked) < 120, f"the kill came too late to test anything ({len(acked)} acknowledged)"
    store = open_store(store_url)
    try:
        store.migrate()  # usable after the crash
        decided = {d.flag_id for d in store.decisions(limit=1000) if d.action == "confirm"}
        lost = sorted(set(acked) - decided)
        assert not lost, f"acknowledged decisions lost after kill -9: {lost}"
        for fid in acked:
            assert store.get_flag(fid).status == "confirmed"
    finally:
        store.close()


async def test_sigterm_flushes_the_flag_queue_and_kill_stays_within_the_bound(tmp_path, store_url, wait_ready):
    _prepared(store_url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(tmp_path, store_url, port)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, base, proc)
            flagged = await _scan_all(session, base, 300)
        _kill(proc, signal.SIGTERM)  # at once: the queue may still hold flags
        assert proc.returncode == 0
    finally:
        _kill(proc)
    assert len(_flag_ids(store_url)) == flagged == 300
