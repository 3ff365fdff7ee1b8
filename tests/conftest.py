from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def scanner():
    """A scanner on the shipped rules and default settings (immutable; safe to share)."""
    from phishguard.scanner import Scanner
    from phishguard.settings import Settings

    return Scanner(Settings(lang="en"))


@pytest.fixture
def make_scanner():
    from phishguard.scanner import Scanner
    from phishguard.settings import load_settings

    def make(**overrides):
        return Scanner(load_settings(None, **overrides))

    return make


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """Tests never see the developer's PHISHGUARD_* variables or locale, and a service started by a
    test keeps its moderation store in the test's own folder (not ./phishguard.db)."""
    import os

    for k in list(os.environ):
        if k.startswith("PHISHGUARD_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("PHISHGUARD_DATABASE_URL", f"sqlite:///{tmp_path}/phishguard.db")


@pytest.fixture(scope="session")
def conformance_harness():
    """benchmarks/conformance.py as a module: it starts ``phishguard serve`` with an API key and a temporary
    store (used by the conformance, privacy and live SSRF tests)."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import conformance
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return conformance


async def _wait_ready(session, base: str, proc=None, tries: int = 400) -> None:
    """Poll ``GET base/readyz`` every 50 ms until it answers 200 (at most ``tries`` times); fail at once if
    ``proc`` (the ``phishguard serve`` subprocess, when given) has exited."""
    import asyncio

    import aiohttp

    for _ in range(tries):
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"serve exited at start-up with status {proc.returncode}")
        try:
            async with session.get(base + "/readyz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    pytest.fail("serve never became ready")


@pytest.fixture
def wait_ready():
    """``await wait_ready(session, base, proc=None, tries=400)``: a started ``serve`` answers ``/readyz``."""
    return _wait_ready
