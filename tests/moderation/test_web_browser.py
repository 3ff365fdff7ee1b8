"""The /moderation pages in a real browser: headless Chromium from Debian driven by Playwright.

The service runs as a subprocess (``phishguard serve``) on a fresh SQLite store; scams posted to
``/v1/scan`` become flags; in the browser a moderator logs in, filters the queue, opens the flag
(link defanged, evidence highlighted) and confirms it with the ``c`` key; then the same URL scans
as fraud with the moderators' ``reputation`` reason. The browser must not request anything outside
the service, and the page must log no error (a CSP violation would).

Set ``MODERATION_SCREENSHOTS_DIR`` (e.g. ``docs``) to also save the queue and flag screenshots
there (``moderation-queue.png``, ``moderation-flag.png``). ``MODERATION_TEST_CHROMIUM`` points at
another Chromium binary (default ``/usr/bin/chromium``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phishguard.moderation.passwords import hash_password
from phishguard.moderation.store import FlagQuery, open_store

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("MODERATION_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = os.environ.get("MODERATION_SCREENSHOTS_DIR")  # read at import: tests hide PHISHGUARD_* only
PASSWORD = "correct horse battery"
SCAM = "Покупатель оплатил товар, получите деньги: https://avito-bezopasnaya-sdelka.ru/pay/123"
SCAM_URL = "https://avito-bezopasnaya-sdelka.ru/pay/123"
# (text, message id, context): what a marketplace would send, so the screenshots look like real work
MESSAGES: list[tuple[str, str, dict[str, str]]] = [
    ("Hello, the buyer paid. Confirm your card to receive money: https://olx-secure-payment.com/pay/991",
     "msg-1001", {"chat_id": "c-5512", "sender_id": "u-77102", "listing_id": "l-90211"}),
    ("Заказ оформлен, оплатите доставку СДЭК по ссылке cdek-pay.site/order/5521",
     "msg-1002", {"chat_id": "c-5518", "sender_id": "u-88410", "listing_id": "l-31877"}),
    ("Здравствуйте! Чтобы я перевёл деньги, пришлите номер карты, срок действия и CVV, и скажите баланс",
     "msg-1003", {"chat_id": "c-5523", "sender_id": "u-66013", "listing_id": "l-45120"}),
    ("Доставка оплачена, заберите средства https://youla-dostavka-pay.ru/order/77",
     "msg-1004", {"chat_id": "c-5530", "sender_id": "u-51177", "listing_id": "l-77301"}),
    ("Оплата прошла, подтвердите получение: https://avito-bezopasnaya-sdelka.ru/pay/456",
     "msg-1005", {"chat_id": "c-5541", "sender_id": "u-40092", "listing_id": "l-12090"}),
    (SCAM, "msg-1006", {"chat_id": "c-5547", "sender_id": "u-40092", "listing_id": "l-12101"}),
]


def _need_browser() -> Any:
    """Playwright's sync API, or a skip that says what is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package `chromium`)")
    try:
        from playwright import sync_api
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright; no browser download)")
    return sync_api


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy


def _http(url: str, body: dict[str, Any] | None = None, timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with _opener.open(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, {}


def _phishguard() -> str:
    found = Path(sys.executable).with_name("phishguard")
    return str(found) if found.exists() else shutil.which("phishguard") or "phishguard"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[dict[str, str]]:
    """``phishguard serve`` on a free port with a fresh SQLite store and the moderator anna."""
    url = f"sqlite:///{tmp_path}/m.db"
    store = open_store(url)
    try:
        store.migrate()
        store.add_user("anna", "moderator", hash_password(PASSWORD), now=time.time())
    finally:
        store.close()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHISHGUARD_")}
    env.update(PHISHGUARD_DATABASE_URL=url, PHISHGUARD_MODERATION__POLL_INTERVAL_S="0.2", NO_PROXY="*")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [_phishguard(), "serve", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited: {(tmp_path / 'serve.log').read_text()[-2000:]}")
            try:
                if _http(f"{base}/readyz", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError(f"serve not ready: {(tmp_path / 'serve.log').read_text()[-2000:]}")
        yield {"base": base, "db": url}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_for_flags(db_url: str, want: int) -> None:
    """The flag writer is asynchronous: poll the store until ``want`` flags are there."""
    store = open_store(db_url)
    try:
        for _ in range(150):
            if len(store.list_flags(FlagQuery(limit=want)).items) >= want:
                return
            time.sleep(0.1)
    finally:
        store.close()
    raise AssertionError(f"fewer than {want} flags were recorded")


def _scan(base: str, text: str, **extra: Any) -> dict[str, Any]:
    status, verdict = _http(f"{base}/v1/scan", {"text": text, **extra})
    assert status == 200, verdict
    return verdict


@pytest.fixture
def sync_api() -> Any:
    """Playwright's sync API (skips before the service is started when the browser is missing)."""
    return _need_browser()


def test_moderator_confirms_a_flag_in_the_browser(sync_api: Any, service: dict[str, str], tmp_path: Path) -> None:
    base = service["base"]
    for text, message_id, context in MESSAGES:
        assert _scan(base, text, id=message_id, context=context)["verdict"] in ("suspicious", "fraud")
    _wait_for_flags(service["db"], len(MESSAGES))
    shots = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    requested: list[str] = []
    problems: list[str] = []

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(locale="en-US", viewport={"width": 1360, "height": 860})
            page = context.new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            # log in (the queue redirects to the form and back)
            page.goto(f"{base}/moderation")
            assert "/moderation/login" in page.url
            page.fill("input[name=name]", "anna")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/moderation")
            assert page.locator("tr[data-href]").count() == len(MESSAGES)
            assert page.locator(".campaigns tbody tr").count() >= 1  # the two avito-bezopasnaya-sdelka flags
            page.screenshot(path=str(shots / "moderation-queue.png"), full_page=True)

            # filter by domain: "/" focuses the filters, the form submits with Enter
            page.keyboard.press("/")
            assert page.evaluate("document.activeElement.id") == "filter-first"
            page.fill("input[name=domain]", "avito-bezopasnaya-sdelka.ru")
            page.press("input[name=domain]", "Enter")
            page.wait_for_url("**domain=avito-bezopasnaya-sdelka.ru**")
            rows = page.locator("tr[data-href]")
            assert rows.count() == 2
            assert "hxxps://avito-bezopasnaya-sdelka[.]ru/pay/123" in rows.first.inner_text()

            # open the newest one with the keyboard: j selects, Enter opens
            page.keyboard.press("j")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert "/moderation/flags/" in page.url
            message = page.locator("#message")
            assert "hxxps://avito-bezopasnaya-sdelka[.]ru/pay/123" in message.inner_text()
            assert SCAM_URL not in page.content()
            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
            assert hrefs and all(h.startswith("/moderation") for h in hrefs), hrefs  # no link leaves the page
            marks = message.locator("mark").all_inner_texts()
            assert "avito-bezopasnaya-sdelka" in marks
            assert "получите деньги: " in marks
            page.screenshot(path=str(shots / "moderation-flag.png"), full_page=True)

            # confirm with "c": the page goes on to the next flag of the filtered queue
            flag_url = page.url
            with page.expect_navigation():
                page.keyboard.press("c")
            assert page.url != flag_url
            assert "Confirmed as fraud: 1" in page.locator(".notice").inner_text()
            page.goto(flag_url.split("?")[0] + "?status=all")
            assert page.locator("#flag-status").inner_text() == "confirmed"
            page.goto(f"{base}/moderation/history")
            assert "anna" in page.locator("table.history").inner_text()
        finally:
            browser.close()

    outside = [u for u in requested if not u.startswith(base + "/")]
    assert not outside, f"the page requested outside the service: {outside}"
    assert not problems, f"errors in the page: {problems}"

    # the decision took effect: the same URL now scans as fraud, with the moderators' reason
    verdict = _scan(base, f"Проверьте: {SCAM_URL}")
    assert verdict["verdict"] == "fraud", verdict
    reputation = [r for r in verdict["reasons"] if r["category"] == "reputation"]
    assert any(r["rule"] == "reputation.moderator-confirmed" for r in reputation), verdict["reasons"]
