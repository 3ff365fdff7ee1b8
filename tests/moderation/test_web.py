"""The /moderation pages through the real service app (aiohttp test client, SQLite store): login,
sessions and their cookie, CSRF, roles, languages, defensive headers, escaping and defanging."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from phishguard.moderation.flags import new_flag
from phishguard.moderation.passwords import hash_password
from phishguard.moderation.store import Decision, NewFlag, open_store
from phishguard.moderation.web import (
    CSP,
    _latest_decisions,
    defang_chars,
    evidence_parts,
    parse_filters,
    render_message,
)
from phishguard.moderation.web_i18n import LANGUAGES, STRINGS
from phishguard.render import defang
from phishguard.scanner import Scanner
from phishguard.service.app import create_app
from phishguard.settings import Settings

PASSWORD = "correct horse battery"
SCAM = "Покупатель оплатил товар, получите деньги: https://avito-bezopasnaya-sdelka.ru/pay/123"
SCAM2 = "Оплата прошла, подтвердите получение: https://avito-bezopasnaya-sdelka.ru/pay/456"
OTHER = "Доставка оплачена, заберите средства https://youla-dostavka-pay.ru/order/77"
XSS_TEXT = 'Hi <script>alert("t")</script> pay at https://avito-pay.ru/x <img src=x onerror=alert(1)>'
XSS_EVIDENCE = "<img src=x onerror=alert(1)>"

Client = TestClient
MakeClient = Callable[..., Awaitable[TestClient]]


# ------------------------------------------------------------------ the rendering helpers alone


@pytest.mark.parametrize(
    "url",
    [
        "https://avito-pay.ru/pay/1.html",
        "HTTP://AVITO.RU/x.y",
        "avito-pay.ru",
        "https://avito.ru@evil.xyz/pay?a=b.c",
        "ftp://files.example.com/a.b",
        "https://аvito.ru/pay#x.y",
    ],
)
def test_defang_chars_agrees_with_render_defang(url: str) -> None:
    chars = defang_chars(url)
    assert len(chars) == len(url)
    assert "".join(chars) == defang(url)


def test_render_message_escapes_before_marking() -> None:
    html = str(render_message(XSS_TEXT, [XSS_EVIDENCE, "<script>"]))
    assert "<script" not in html and "<img" not in html
    assert "<mark>&lt;img src=x onerror=alert(1)&gt;</mark>" in html
    assert "<mark>&lt;script&gt;</mark>" in html
    assert "hxxps://" in html and "avito-pay[.]ru" in html and "https://" not in html


def test_render_message_marks_evidence_inside_links() -> None:
    html = str(render_message(SCAM, ["avito-bezopasnaya-sdelka"]))
    assert '<span class="url"><mark>avito-bezopasnaya-sdelka</mark></span>' in html
    assert "sdelka.ru" not in html  # the host is defanged around the mark too


def test_evidence_parts_of_a_word_list() -> None:
    assert evidence_parts("оплатил, получите, деньги", SCAM) == ["оплатил", "получите", "деньги"]
    assert evidence_parts("", SCAM) == []


def test_parse_filters() -> None:
    f = parse_filters(
        {"status": "all", "domain": "avito-pay[.]ru", "until": "2026-01-01T10:30", "category": "nope"}
    )
    assert f.query.status is None
    assert f.query.domain == "avito-pay.ru"
    assert f.query.until == 1767263400.0
    assert f.invalid == ["category"]
    assert f.qs(before=5).startswith("?status=all&")


def test_every_string_in_both_languages() -> None:
    for key, entry in STRINGS.items():
        assert set(entry) == set(LANGUAGES), key
        assert all(entry[lang].strip() for lang in LANGUAGES), key


# ------------------------------------------------------------------ the pages through the service


def _flag(scanner: Scanner, text: str, *, tenant: str = "acme", message_id: str = "m1") -> NewFlag:
    verdict = scanner.scan(text).to_dict()
    assert verdict["verdict"] in ("suspicious", "fraud"), verdict
    return new_flag(
        verdict, tenant=tenant, text=text, message_id=message_id, context={"chat_id": "c1"},
        store_text="full", now=time.time(),
    )


def _xss_flag() -> NewFlag:
    """A flag whose every free-text field carries markup."""
    return NewFlag(
        tenant="<b>tenant</b>", message_id='"><script>alert(2)</script>', verdict="fraud", score=0.9,
        text=XSS_TEXT, context={"chat_id": "<script>alert(3)</script>", "<i>key</i>": "x"},
        reasons=[{
            "rule": "test.<x>", "category": "scam_script", "severity": "high", "weight": 0.5,
            "evidence": XSS_EVIDENCE, "message": {"en": "<u>bad</u> en", "ru": "<u>плохо</u> ru"},
        }],
        urls=[{"url": "https://avito-pay.ru/x", "display": "https://avito-pay.ru/x", "host": "avito-pay.ru",
               "registered_domain": "avito-pay.ru", "brand": "avito", "official": False, "findings": []}],
        models={"text": {"version": "<v>"}}, rules_version="r<1>", categories=["scam_script"],
        brand="<brand>",
        domains=["avito-pay.ru"], campaign_keys=["domain:avito-pay.ru"], created_at=time.time(),
    )


@pytest.fixture
def db_url(tmp_path, monkeypatch) -> str:
    """The test's store (also in the environment, which wins over keyword settings)."""
    url = f"sqlite:///{tmp_path}/web.db"
    monkeypatch.setenv("PHISHGUARD_DATABASE_URL", url)
    return url


@pytest.fixture
def flag_ids(db_url: str, scanner: Scanner) -> dict[str, int]:
    """Users anna (moderator) and victor (viewer) and four flags: two of one campaign, another
    brand's, and one full of markup."""
    store = open_store(db_url)
    try:
        store.migrate()
        for name, role in (("anna", "moderator"), ("victor", "viewer")):
            store.add_user(name, role, hash_password(PASSWORD, n=2**4), now=time.time())
        ids = store.add_flags([
            _flag(scanner, SCAM, message_id="m1"),
            _flag(scanner, SCAM2, message_id="m2"),
            _flag(scanner, OTHER, tenant="globex", message_id="m3"),
            _xss_flag(),
        ])
    finally:
        store.close()
    return dict(zip(("scam", "scam2", "other", "xss"), ids))


@pytest.fixture
def make_client(aiohttp_client, db_url: str, flag_ids: dict[str, int]) -> MakeClient:
    async def make(**moderation: object) -> TestClient:
        moderation = {"poll_interval_s": 0.05, **moderation}
        settings = Settings(lang="en", database_url=db_url, moderation=moderation)
        return await aiohttp_client(create_app(settings, scanner=Scanner(settings)))

    return make


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


async def log_in(client: TestClient, user: str = "anna", password: str = PASSWORD, **extra: str):
    """Fetch the form (its pre-login cookie and CSRF value) and post it; the response, not followed."""
    form = await client.get("/moderation/login")
    assert form.status == 200
    data = {"csrf": _csrf(await form.text()), "name": user, "password": password, **extra}
    return await client.post("/moderation/login", data=data, allow_redirects=False)


async def page(client: TestClient, path: str, status: int = 200, **kw) -> str:
    resp = await client.get(path, allow_redirects=False, **kw)
    body = await resp.text()
    assert resp.status == status, body[:500]
    return body


async def _status_of(client: TestClient, flag_id: int) -> str:
    html = await page(client, f"/moderation/flags/{flag_id}?status=all")
    return re.search(r'id="flag-status">([^<]+)<', html).group(1)


def _set_cookie(resp, name: str) -> str:
    for header in resp.headers.getall("Set-Cookie", []):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no {name} cookie in {resp.headers.getall('Set-Cookie', [])}")


async def test_pages_need_a_session(make_client: MakeClient, flag_ids) -> None:
    client = await make_client()
    for path in ("/moderation", f"/moderation/flags/{flag_ids['scam']}", "/moderation/history"):
        resp = await client.get(path + "?status=open", allow_redirects=False)
        assert resp.status == 303
        assert resp.headers["Location"].startswith("/moderation/login?next=/moderation")
    resp = await client.post(f"/moderation/flags/{flag_ids['scam']}/decide", data={"action": "confirm"})
    assert resp.status == 403
    slash = await client.get("/moderation/", allow_redirects=False)
    assert slash.status == 303 and slash.headers["Location"] == "/moderation"


async def test_login_failure(make_client: MakeClient) -> None:
    client = await make_client()
    resp = await log_in(client, password="wrong")
    assert resp.status == 401
    assert "Wrong user name or password." in await resp.text()
    assert not any(h.startswith("pg_session=") for h in resp.headers.getall("Set-Cookie", []))
    assert (await log_in(client, user="nobody")).status == 401
    assert (await client.get("/moderation", allow_redirects=False)).status == 303


async def test_login_form_needs_its_csrf_value(make_client: MakeClient) -> None:
    client = await make_client()
    await client.get("/moderation/login")  # the pre-login cookie is there, the field is not
    resp = await client.post("/moderation/login", data={"name": "anna", "password": PASSWORD})
    assert resp.status == 403
    data = {"name": "anna", "password": PASSWORD, "csrf": "0" * 64}
    resp = await client.post("/moderation/login", data=data)
    assert resp.status == 403


async def test_session_cookie_flags(make_client: MakeClient) -> None:
    client = await make_client()
    resp = await log_in(client, next="/moderation/history")
    assert resp.status == 303 and resp.headers["Location"] == "/moderation/history"
    cookie = _set_cookie(resp, "pg_session")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/moderation"):
        assert flag in cookie
    assert "Secure" not in cookie
    secure = await make_client(secure_cookies=True)
    form = await secure.get("/moderation/login")
    pre = _set_cookie(form, "pg_login")
    assert "Secure" in pre  # so the test client (plain HTTP) will not send it back: do it by hand
    resp = await secure.post(
        "/moderation/login",
        data={"csrf": _csrf(await form.text()), "name": "anna", "password": PASSWORD},
        cookies={"pg_login": pre.split(";")[0].split("=", 1)[1]},
        allow_redirects=False,
    )
    assert resp.status == 303
    assert "Secure" in _set_cookie(resp, "pg_session")


async def test_login_never_redirects_off_site(make_client: MakeClient) -> None:
    for target in ("//evil.example/", "https://evil.example/moderation", "/elsewhere", "/moderation/logout"):
        resp = await log_in(await make_client(), next=target)
        assert resp.headers["Location"] == "/moderation"


async def test_defensive_headers_on_every_answer(make_client: MakeClient, flag_ids) -> None:
    client = await make_client()
    paths = ("/moderation/login", "/moderation", "/moderation/static/moderation.js")
    anonymous = [await client.get(p, allow_redirects=False) for p in paths]
    await log_in(client)
    scam = flag_ids["scam"]
    paths = ("/moderation", f"/moderation/flags/{scam}", "/moderation/flags/999999", "/moderation/history")
    signed_in = [await client.get(p) for p in paths]
    for resp in anonymous + signed_in:
        assert resp.headers["Content-Security-Policy"] == CSP
        assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert resp.headers["Cache-Control"] == "no-store"
    assert signed_in[2].status == 404
    assert "Not found." in await signed_in[2].text()


async def test_pages_load_nothing_from_outside(make_client: MakeClient, flag_ids) -> None:
    client = await make_client()
    login = await page(client, "/moderation/login")
    await log_in(client)
    for path in ("/moderation", f"/moderation/flags/{flag_ids['scam']}", "/moderation/history", login):
        html = path if path.startswith("<!doctype") else await page(client, path)
        assert "<script>" not in html and "style=" not in html  # nothing inline for the CSP to block
        for attr in re.findall(r'(?:href|src|action)="([^"]*)"', html):
            assert attr.startswith("/moderation"), (path, attr)


async def test_csrf_missing_or_wrong_is_403(make_client: MakeClient, flag_ids) -> None:
    client = await make_client()
    await log_in(client)
    url = f"/moderation/flags/{flag_ids['scam']}/decide"
    for data in ({"action": "confirm"}, {"action": "confirm", "csrf": "f" * 64}):
        resp = await client.post(url, data=data, allow_redirects=False)
        assert resp.status == 403
        assert resp.headers["Content-Security-Policy"] == CSP
    assert await _status_of(client, flag_ids["scam"]) == "open"
    resp = await client.post("/moderation/logout", data={}, allow_redirects=False)
    assert resp.status == 403


async def test_viewer_sees_no_buttons_and_cannot_decide(make_client: MakeClient, flag_ids) -> None:
    client = await make_client()
    await log_in(client, user="victor")
    html = await page(client, f"/moderation/flags/{flag_ids['scam']}")
    assert 'value="confirm"' not in html and 'value="dismiss"' not in html
    assert "you can look but not decide" in html
    queue = await page(client, "/moderation")
    assert "Confirm all" not in queue
    csrf = _csrf(html)  # the viewer's own valid token (the logout form)
    data = {"action": "confirm", "csrf": csrf}
    resp = await client.post(f"/moderation/flags/{flag_ids['scam']}/decide", data=data)
    assert resp.status == 403
    data = {**data, "key": "domain:avito-bezopasnaya-sdelka.ru"}
    resp = await client.post("/moderation/campaigns/decide", data=data)
    assert resp.status == 403
    assert await _status_of(client, flag_ids["scam"]) == "open"


async def test_moderator_decides_and_the_history_shows_it(make_client: MakeClient, flag_ids) -> None:
    client = await make_client()
    await log_in(client)
    html = await page(client, f"/moderation/flags/{flag_ids['other']}")
    resp = await client.post(
        f"/moderation/flags/{flag_ids['other']}/decide?status=open",
        data={"action": "dismiss", "csrf": _csrf(html), "note": "a <b>real</b> shop"},
        allow_redirects=False,
    )
    assert resp.status == 303
    assert "done=dismiss" in resp.headers["Location"]
    assert await _status_of(client, flag_ids["other"]) == "dismissed"
    detail = await page(client, f"/moderation/flags/{flag_ids['other']}?status=all")
    assert 'value="reopen"' in detail and 'value="dismiss"' not in detail
    assert "a &lt;b&gt;real&lt;/b&gt; shop" in detail
    history = await page(client, "/moderation/history")
    assert "anna" in history and "youla-dostavka-pay[.]ru" in history
    resp = await client.post(
        f"/moderation/flags/{flag_ids['other']}/decide",
        data={"action": "reopen", "csrf": _csrf(detail)},
        allow_redirects=False,
    )
    assert resp.headers["Location"].startswith(f"/moderation/flags/{flag_ids['other']}?")
    assert await _status_of(client, flag_ids["other"]) == "open"


async def test_campaign_confirmed_in_one_action(make_client: MakeClient, flag_ids) -> None:
    client = await make_client()
    await log_in(client)
    queue = await page(client, "/moderation")
    assert "avito-bezopasnaya-sdelka[.]ru" in queue and "Confirm all" in queue
    resp = await client.post(
        "/moderation/campaigns/decide",
        data={"action": "confirm", "csrf": _csrf(queue), "key": "domain:avito-bezopasnaya-sdelka.ru"},
        allow_redirects=False,
    )
    assert resp.status == 303
    notice = await page(client, resp.headers["Location"])
    assert "Confirmed as fraud: 2" in notice
    assert await _status_of(client, flag_ids["scam"]) == "confirmed"
    assert await _status_of(client, flag_ids["scam2"]) == "confirmed"


async def test_queue_filters(make_client: MakeClient, flag_ids) -> None:
    client = await make_client()
    await log_in(client)
    everything = await page(client, "/moderation")
    assert all(f"#{i}<" in everything for i in flag_ids.values())
    globex = await page(client, "/moderation?tenant=globex")
    assert f"#{flag_ids['other']}<" in globex and f"#{flag_ids['scam']}<" not in globex
    by_domain = await page(client, "/moderation?domain=avito-bezopasnaya-sdelka[.]ru")
    assert f"#{flag_ids['scam2']}<" in by_domain and f"#{flag_ids['other']}<" not in by_domain
    bad = await page(client, "/moderation?min_score=lots")
    assert "Ignored an invalid filter value:" in bad
    none = await page(client, "/moderation?status=confirmed")
    assert "No flags match these filters." in none


async def test_flag_detail_defangs_and_highlights(make_client: MakeClient, flag_ids) -> None:
    client = await make_client()
    await log_in(client)
    html = await page(client, f"/moderation/flags/{flag_ids['scam']}")
    assert "https://avito-bezopasnaya-sdelka.ru" not in html
    assert "hxxps://avito-bezopasnaya-sdelka[.]ru/pay/123" in html
    assert "<mark>avito-bezopasnaya-sdelka</mark>" in html
    assert "<mark>получите деньги: </mark>" in html  # the script evidence, up to the link
    assert html.count("<mark>") >= 4
    assert 'data-key="c"' in html and 'data-key="d"' in html


async def test_flag_navigation_keeps_the_filters(make_client: MakeClient, flag_ids) -> None:
    client = await make_client()
    await log_in(client)
    html = await page(client, f"/moderation/flags/{flag_ids['scam2']}?status=open&brand=avito")
    assert f'href="/moderation/flags/{flag_ids["scam"]}?status=open&amp;brand=avito" id="next-flag"' in html
    assert 'id="prev-flag"' not in html  # the newest avito flag
    older = await page(client, f"/moderation/flags/{flag_ids['scam']}?status=open&brand=avito")
    assert f'href="/moderation/flags/{flag_ids["scam2"]}?status=open&amp;brand=avito" id="prev-flag"' in older


async def test_markup_in_every_field_is_escaped(make_client: MakeClient, flag_ids) -> None:
    client = await make_client()
    await log_in(client)
    html = await page(client, f"/moderation/flags/{flag_ids['xss']}")
    assert "<mark>&lt;img src=x onerror=alert(1)&gt;</mark>" in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert "&lt;u&gt;bad&lt;/u&gt; en" in html
    xss = flag_ids["xss"]
    paths = (
        f"/moderation/flags/{xss}", "/moderation?status=all", f"/moderation/flags/{xss}?lang=ru", "/moderation/history"
    )
    for path in paths:
        html = await page(client, path)
        for raw in ("<script>alert", "<img", "<b>tenant", "<u>", "<i>key", "<brand>", '"><script'):
            assert raw not in html, (path, raw)


async def test_russian_and_english(make_client: MakeClient, flag_ids) -> None:
    client = await make_client()
    await log_in(client)
    english = await page(client, f"/moderation/flags/{flag_ids['scam']}")
    assert '<html lang="en">' in english and "Confirm fraud" in english and "Reasons" in english
    resp = await client.get(f"/moderation/flags/{flag_ids['scam']}?lang=ru")
    russian = await resp.text()
    assert '<html lang="ru">' in russian and "Подтвердить мошенничество" in russian and "Причины" in russian
    assert "Это не avito.ru" in russian  # the reason's own Russian message
    assert "SameSite=Strict" in _set_cookie(resp, "pg_lang")
    remembered = await page(client, "/moderation")
    assert "Очередь" in remembered and "Фильтры" not in remembered.split("<main>")[0]
    fresh = await make_client()
    ru_first = {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}
    assert '<html lang="ru">' in await page(fresh, "/moderation/login", headers=ru_first)
    assert '<html lang="en">' in await page(fresh, "/moderation/login", headers={"Accept-Language": "de"})


async def test_logout_ends_the_session(make_client: MakeClient) -> None:
    client = await make_client()
    resp = await log_in(client)
    token = _set_cookie(resp, "pg_session").split(";")[0].split("=", 1)[1]
    html = await page(client, "/moderation")
    resp = await client.post("/moderation/logout", data={"csrf": _csrf(html)}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/moderation/login?bye=1"
    assert (await client.get("/moderation", allow_redirects=False)).status == 303
    replayed = await client.get("/moderation", cookies={"pg_session": token}, allow_redirects=False)
    assert replayed.status == 303  # the token is gone from the store, not only from the browser


async def test_static_files_are_a_fixed_list(make_client: MakeClient) -> None:
    client = await make_client()
    js = await client.get("/moderation/static/moderation.js")
    assert js.status == 200 and js.content_type == "text/javascript"
    assert (await client.get("/moderation/static/moderation.css")).content_type == "text/css"
    for name in ("..%2Fweb.py", "web.py", "nothing.js"):
        assert (await client.get(f"/moderation/static/{name}")).status == 404


async def test_deciding_an_unknown_flag_is_a_404_page(make_client: MakeClient) -> None:
    client = await make_client()
    await log_in(client)
    csrf = _csrf(await page(client, "/moderation"))
    resp = await client.post("/moderation/flags/999999/decide", data={"action": "confirm", "csrf": csrf})
    assert resp.status == 404 and resp.content_type == "text/html"
    bad = await client.post("/moderation/flags/1/decide", data={"action": "delete", "csrf": csrf})
    assert bad.status == 400


def test_history_pages_newest_first(store) -> None:
    for i in range(250):
        store.decide(action="confirm", moderator="anna", domains=[f"d{i}.example"], now=float(i))
    first, older = _latest_decisions(store, None, 100)
    assert [d.id for d in first[:2]] == [250, 249] and len(first) == 100 and older == 151
    second, older = _latest_decisions(store, older, 100)
    assert second[0].id == 150 and older == 51
    last, older = _latest_decisions(store, 51, 100)
    assert [d.id for d in last] == list(range(50, 0, -1)) and older is None
