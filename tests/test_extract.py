"""phishguard.extract: URLs out of Russian/English chat text — found, refanged, and not invented."""

from __future__ import annotations

import time

import pytest
import yarl

from phishguard.extract import UrlSpan, extract_urls


def found(text: str) -> list[tuple[str, str]]:
    spans = extract_urls(text)
    for span in spans:
        assert text[span.start:span.end] == span.raw
    return [(s.raw, s.url) for s in spans]


# --- positives: (text, [(raw, url), ...]) -----------------------------------------------------

SCHEMES = [
    ("https://avito.ru", [("https://avito.ru", "https://avito.ru")]),
    ("http://avito.ru/", [("http://avito.ru/", "http://avito.ru/")]),
    ("HTTPS://AVITO.RU/Item/1", [("HTTPS://AVITO.RU/Item/1", "https://avito.ru/Item/1")]),
    ("ftp://files.example.com/a.zip", [("ftp://files.example.com/a.zip", "ftp://files.example.com/a.zip")]),
    ("avito-pay.ru/x", [("avito-pay.ru/x", "https://avito-pay.ru/x")]),
    ("www.avito.ru", [("www.avito.ru", "https://www.avito.ru")]),
    ("зайди на avito-dostavka.ru", [("avito-dostavka.ru", "https://avito-dostavka.ru")]),
    ("Check olx.pl now", [("olx.pl", "https://olx.pl")]),
    ("allegro.pl/oferta/123?x=1#top",
     [("allegro.pl/oferta/123?x=1#top", "https://allegro.pl/oferta/123?x=1#top")]),
    ("see https://avito.ru/a?b=c&d=e#f ok",
     [("https://avito.ru/a?b=c&d=e#f", "https://avito.ru/a?b=c&d=e#f")]),
    ("youla.ru-receive.online/deal",
     [("youla.ru-receive.online/deal", "https://youla.ru-receive.online/deal")]),
    ("avito-bezopasnaya-sdelka.ru",
     [("avito-bezopasnaya-sdelka.ru", "https://avito-bezopasnaya-sdelka.ru")]),
    ("https://avito-pay.vercel.app/checkout",
     [("https://avito-pay.vercel.app/checkout", "https://avito-pay.vercel.app/checkout")]),
    ("olx.com.ua/obyavlenie", [("olx.com.ua/obyavlenie", "https://olx.com.ua/obyavlenie")]),
    ("https:/avito.ru/one-slash", [("https:/avito.ru/one-slash", "https://avito.ru/one-slash")]),
    ("http://localhost:8080/admin", [("http://localhost:8080/admin", "http://localhost:8080/admin")]),
    ("https://intranet/", [("https://intranet/", "https://intranet/")]),
    ("two: a.ru and https://b.ru/x", [("a.ru", "https://a.ru"), ("https://b.ru/x", "https://b.ru/x")]),
    ("https://a.ru,https://b.ru", [("https://a.ru", "https://a.ru"), ("https://b.ru", "https://b.ru")]),
    ("avito.ru:8080", [("avito.ru:8080", "https://avito.ru:8080")]),
    ("https://avito.ru:443/pay", [("https://avito.ru:443/pay", "https://avito.ru:443/pay")]),
    ("a_b.example.com/x", [("a_b.example.com/x", "https://a_b.example.com/x")]),
    ("r3---sn-abc.googlevideo.com/v",
     [("r3---sn-abc.googlevideo.com/v", "https://r3---sn-abc.googlevideo.com/v")]),
]

IDN = [
    ("авито.рф", [("авито.рф", "https://xn--80aesyt.xn--p1ai")]),
    ("https://аvito.ru/pay/123", [("https://аvito.ru/pay/123", "https://xn--vito-43d.ru/pay/123")]),
    ("xn--80aej3bh.xn--p1ai", [("xn--80aej3bh.xn--p1ai", "https://xn--80aej3bh.xn--p1ai")]),
    ("xn--vito-43d.ru/pay", [("xn--vito-43d.ru/pay", "https://xn--vito-43d.ru/pay")]),
    ("магазин.рус", [("магазин.рус", "https://xn--80aairftm.xn--p1acf")]),
    ("сайт.укр/оплата", [("сайт.укр/оплата", "https://xn--80aswg.xn--j1amh/оплата")]),
    ("сайт.бел", [("сайт.бел", "https://xn--80aswg.xn--90ais")]),
    ("ОПЛАТА.АВИТО.РФ", [("ОПЛАТА.АВИТО.РФ", "https://xn--80aa5alfu.xn--80aesyt.xn--p1ai")]),
    ("аvіtо.ru", [("аvіtо.ru", "https://xn--vt-6kc2d7f.ru")]),
    ("bücher.de", [("bücher.de", "https://xn--bcher-kva.de")]),
    ("https://аvito.rу", [("https://аvito.rу", "https://xn--vito-43d.xn--r-cub")]),
]

DEFANGED = [
    ("hxxps://avito-pay[.]ru/x", [("hxxps://avito-pay[.]ru/x", "https://avito-pay.ru/x")]),
    ("hxxp://avito.ru", [("hxxp://avito.ru", "http://avito.ru")]),
    ("HXXPS://AVITO.RU", [("HXXPS://AVITO.RU", "https://avito.ru")]),
    ("hxxps[:]//avito[.]ru", [("hxxps[:]//avito[.]ru", "https://avito.ru")]),
    ("https[:]//avito.ru/a", [("https[:]//avito.ru/a", "https://avito.ru/a")]),
    ("hxxps[://]avito.ru", [("hxxps[://]avito.ru", "https://avito.ru")]),
    ("avito[.]ru", [("avito[.]ru", "https://avito.ru")]),
    ("avito(.)ru", [("avito(.)ru", "https://avito.ru")]),
    ("avito{.}ru", [("avito{.}ru", "https://avito.ru")]),
    ("avito[dot]ru", [("avito[dot]ru", "https://avito.ru")]),
    ("avito(dot)ru/pay", [("avito(dot)ru/pay", "https://avito.ru/pay")]),
    ("avito[DOT]ru", [("avito[DOT]ru", "https://avito.ru")]),
    ("avito [.] ru", [("avito [.] ru", "https://avito.ru")]),
    ("заходи на avito . ru", [("avito . ru", "https://avito.ru")]),
    ("заходи на avito .ru сегодня", [("avito .ru", "https://avito.ru")]),
    ("youla[.]ru-receive[.]online", [("youla[.]ru-receive[.]online", "https://youla.ru-receive.online")]),
    ("main[.]py", [("main[.]py", "https://main.py")]),
]

GLUED = [
    ("Оплата:https://avito-pay.ru/x", [("https://avito-pay.ru/x", "https://avito-pay.ru/x")]),
    ("ссылкаhttps://avito-pay.ru/x", [("https://avito-pay.ru/x", "https://avito-pay.ru/x")]),
    ("(https://x.ru/a)", [("https://x.ru/a", "https://x.ru/a")]),
    ("«https://x.ru»", [("https://x.ru", "https://x.ru")]),
    ("«avito-pay.ru»", [("avito-pay.ru", "https://avito-pay.ru")]),
    ('"https://x.ru/a"', [("https://x.ru/a", "https://x.ru/a")]),
    ("'https://x.ru/a'", [("https://x.ru/a", "https://x.ru/a")]),
    ("<https://x.ru/a>", [("https://x.ru/a", "https://x.ru/a")]),
    ("https://x.ru/a.", [("https://x.ru/a", "https://x.ru/a")]),
    ("https://x.ru/a,", [("https://x.ru/a", "https://x.ru/a")]),
    ("https://x.ru/a!", [("https://x.ru/a", "https://x.ru/a")]),
    ("https://x.ru/a?", [("https://x.ru/a", "https://x.ru/a")]),
    ("https://x.ru/a;", [("https://x.ru/a", "https://x.ru/a")]),
    ("https://x.ru/a:", [("https://x.ru/a", "https://x.ru/a")]),
    ("https://x.ru/a...", [("https://x.ru/a", "https://x.ru/a")]),
    ("https://x.ru/a…", [("https://x.ru/a", "https://x.ru/a")]),
    ("(см. https://x.ru)", [("https://x.ru", "https://x.ru")]),
    ("https://ru.wikipedia.org/wiki/A_(b).",
     [("https://ru.wikipedia.org/wiki/A_(b)", "https://ru.wikipedia.org/wiki/A_(b)")]),
    ("(https://ru.wikipedia.org/wiki/A_(b))",
     [("https://ru.wikipedia.org/wiki/A_(b)", "https://ru.wikipedia.org/wiki/A_(b)")]),
    ("переходитеavito-pay.ru", [("avito-pay.ru", "https://avito-pay.ru")]),
    ("Переходитеavito-pay.ru/x", [("avito-pay.ru/x", "https://avito-pay.ru/x")]),
    ("ссылкаwww.avito.ru", [("www.avito.ru", "https://www.avito.ru")]),
    ("аvito.ru", [("аvito.ru", "https://xn--vito-43d.ru")]),
    ("Зайди на аvito.ru/pay", [("аvito.ru/pay", "https://xn--vito-43d.ru/pay")]),
    ("avito-pay.ruспасибо", [("avito-pay.ru", "https://avito-pay.ru")]),
    ("https://avito-pay.ruспасибо", [("https://avito-pay.ru", "https://avito-pay.ru")]),
    ("AVITO.RUСПАСИБО", [("AVITO.RU", "https://avito.ru")]),
    ("ссылкаavito-pay.ruспасибо", [("avito-pay.ru", "https://avito-pay.ru")]),
    ("Сайт: avito.ru.", [("avito.ru", "https://avito.ru")]),
    ("Сайт avito.ru, пишите", [("avito.ru", "https://avito.ru")]),
    ("avito.ru!", [("avito.ru", "https://avito.ru")]),
    ("...avito.ru...", [("avito.ru", "https://avito.ru")]),
    ("--avito.ru", [("avito.ru", "https://avito.ru")]),
    ("avito.ru—лучший", [("avito.ru", "https://avito.ru")]),
    ("Сайт:avito.ru", [("avito.ru", "https://avito.ru")]),
]

USERINFO = [
    ("https://avito.ru@evil.xyz", [("https://avito.ru@evil.xyz", "https://avito.ru@evil.xyz")]),
    ("http://evil.com\\@good.com/", [("http://evil.com\\@good.com/", "http://evil.com/@good.com/")]),
    ("http://@@example.com", [("http://@@example.com", "http://@@example.com")]),
    ("avito.ru@evil.xyz/pay", [("avito.ru@evil.xyz/pay", "https://avito.ru@evil.xyz/pay")]),
    ("avito.ru@evil.xyz", [("avito.ru@evil.xyz", "https://avito.ru@evil.xyz")]),
    ("https://user:pass@host.ru/", [("https://user:pass@host.ru/", "https://user:pass@host.ru/")]),
    ("Пишите на ivan.petrov@mail.ru или смотрите avito.ru",
     [("avito.ru", "https://avito.ru")]),
]

IPS = [
    ("1.2.3.4", [("1.2.3.4", "https://1.2.3.4")]),
    ("сервер 192.168.0.1:8080/admin", [("192.168.0.1:8080/admin", "https://192.168.0.1:8080/admin")]),
    ("127。0。0。1", [("127。0。0。1", "https://127.0.0.1")]),
    ("http://127.1/", [("http://127.1/", "http://127.0.0.1/")]),
    ("http://2130706433/x", [("http://2130706433/x", "http://127.0.0.1/x")]),
    ("http://0x7f000001", [("http://0x7f000001", "http://127.0.0.1")]),
    ("http://0x7f.1", [("http://0x7f.1", "http://127.0.0.1")]),
    ("http://0177.0.0.1", [("http://0177.0.0.1", "http://127.0.0.1")]),
    ("http://017700000001", [("http://017700000001", "http://127.0.0.1")]),
    ("http://%31%32%37.0.0.1/", [("http://%31%32%37.0.0.1/", "http://127.0.0.1/")]),
    ("http://[::1]:8080/a", [("http://[::1]:8080/a", "http://[::1]:8080/a")]),
    ("http://[::ffff:127.0.0.1]/", [("http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/")]),
    ("http://[64:ff9b::7f00:1]", [("http://[64:ff9b::7f00:1]", "http://[64:ff9b::7f00:1]")]),
    ("(http://[::1])", [("http://[::1]", "http://[::1]")]),
]

HOSTILE = [
    ("avito．ru", [("avito．ru", "https://avito.ru")]),
    ("avito｡ru", [("avito｡ru", "https://avito.ru")]),
    ("ＡＶＩＴＯ.ru", [("ＡＶＩＴＯ.ru", "https://avito.ru")]),
    ("av\u200bito.ru", [("av\u200bito.ru", "https://avito.ru")]),
    ("a\u200db.com", [("a\u200db.com", "https://ab.com")]),
    ("\u202eavito.ru", [("\u202eavito.ru", "https://avito.ru")]),
    ("\x01\x02http://avito.ru", [("http://avito.ru", "http://avito.ru")]),
    ("http://avito.ru\tпробел", [("http://avito.ru", "http://avito.ru")]),
    ("https://avito.ru/pay\nnext line", [("https://avito.ru/pay", "https://avito.ru/pay")]),
    ("https://avito.ru./x", [("https://avito.ru./x", "https://avito.ru/x")]),
    ("avito.ru./x", [("avito.ru./x", "https://avito.ru/x")]),
    ("http://x.com" + "-" * 100, [("http://x.com", "http://x.com")]),
]

POSITIVE = SCHEMES + IDN + DEFANGED + GLUED + USERINFO + IPS + HOSTILE


@pytest.mark.parametrize(("text", "expected"), POSITIVE)
def test_found(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(("text", "expected"), POSITIVE)
def test_yarl_reads_the_same_host(text: str, expected: list[tuple[str, str]]) -> None:
    for span in extract_urls(text):
        for form in (span.url, span.display):
            parsed = yarl.URL(form)
            assert (parsed.raw_host, parsed.explicit_port) == (span.host.ascii, span.port)


# --- negatives: prose that must not turn into URLs --------------------------------------------

NEGATIVE = [
    "т.е. завтра",
    "и т.д.",
    "т.к. я занят",
    "Отправил file.txt вчера",
    "вот photo.jpg и report.pdf",
    "Цена 9.000",
    "1.500.000 руб",
    "Встреча 12.05.2024",
    "версия v1.2.3",
    "в 12.30 подойду",
    "Mr.Smith",
    "...",
    "ok.",
    "ivan.petrov@mail.ru",
    "support@avito.ru",
    "Пишите: ivan@mail.ru",
    "С.В.Иванов",
    "Привет.Как дела",
    "Hello.How are you",
    "I sent it.Is it fine?",
    "см. README.md",
    "запусти main.py",
    "скрипт install.sh",
    "архив photos.zip",
    "видео clip.mov",
    "файл lib.rs",
    "ok.so",
    "0177.0.0.1",
    "2130706433",
    "127.1",
    "1.2.3.4.5",
    "256.1.1.1",
    "9.000.000",
    "avito.invalidtld",
    "localhost",
    "avito . invalidtld",
    "ok . ru",
    "a.b",
    "e.g. i.e. a.m. p.m.",
    "St.Petersburg",
    "Ph.D",
    "12:30",
    "https://",
    "http:// avito",
    "hxxp://",
    "https://..",
    "https://avito.ru:99999/",
    "https://avito.ru:80a/",
    "%31%32%37.0.0.1",
    "a" * 70 + ".ru",
    "Привет . Как дела",
    "",
    "   ",
    "no dots or colons here",
    "avito.ru@localhost",
    "foo-.ru",
    "support.team@avito.ru",
]


@pytest.mark.parametrize("text", NEGATIVE)
def test_not_found(text: str) -> None:
    assert found(text) == []


# --- fields -----------------------------------------------------------------------------------


def one(text: str) -> UrlSpan:
    spans = extract_urls(text)
    assert len(spans) == 1, spans
    return spans[0]


def test_fields_of_a_defanged_url() -> None:
    span = one("Оплата: hxxps://avito-pay[.]ru:8443/deal?id=1 срочно")
    assert span.raw == "hxxps://avito-pay[.]ru:8443/deal?id=1"
    assert span.scheme == "https"
    assert span.host.ascii == "avito-pay.ru" and span.host.raw == "avito-pay.ru"
    assert span.port == 8443
    assert span.path == "/deal?id=1"
    assert span.userinfo is None
    assert span.defanged is True
    assert span.url == "https://avito-pay.ru:8443/deal?id=1"


def test_display_uses_the_unicode_host() -> None:
    span = one("https://аvito.ru/pay/123")
    assert span.display == "https://аvito.ru/pay/123"
    assert span.url == "https://xn--vito-43d.ru/pay/123"
    assert span.host.scripts == frozenset({"Latin", "Cyrillic"})
    assert span.defanged is False


def test_schemeless_has_no_scheme_but_https_url() -> None:
    span = one("avito-pay.ru/x")
    assert span.scheme is None
    assert span.url.startswith("https://")


@pytest.mark.parametrize(("text", "scheme"), [
    ("http://a.ru", "http"), ("https://a.ru", "https"), ("hxxp://a.ru", "http"),
    ("hxxps://a.ru", "https"), ("HtTpS://a.ru", "https"), ("ftp://a.ru", "ftp"), ("fxp://a.ru", "ftp"),
])
def test_scheme_normalized(text: str, scheme: str) -> None:
    span = one(text)
    assert span.scheme == scheme
    assert span.defanged == (text.lower() not in {"http://a.ru", "https://a.ru", "ftp://a.ru"})


@pytest.mark.parametrize(("text", "userinfo", "host"), [
    ("https://avito.ru@evil.xyz", "avito.ru", "evil.xyz"),
    ("http://@@example.com", "@", "example.com"),
    ("http://@example.com", "", "example.com"),
    ("avito.ru@evil.xyz/pay", "avito.ru", "evil.xyz"),
    ("http://evil.com\\@good.com/", None, "evil.com"),
    ("https://a:b@c.ru", "a:b", "c.ru"),
])
def test_userinfo(text: str, userinfo: str | None, host: str) -> None:
    span = one(text)
    assert span.userinfo == userinfo
    assert span.host.ascii == host


def test_backslash_path_keeps_raw_and_normalizes_url() -> None:
    span = one("http://evil.com\\@good.com/")
    assert span.path == "\\@good.com/"
    assert span.url == "http://evil.com/@good.com/"


@pytest.mark.parametrize(("text", "flag"), [
    ("av\u200bito.ru", "zero_width"),
    ("\u202eavito.ru", "bidi"),
    ("ＡＶＩＴＯ.ru", "fullwidth"),
    ("avito．ru", "ideographic_dot"),
    ("https://avito.ru./x", "trailing_dot"),
    ("http://%61vito.ru/", "percent_encoded"),
    ("AVITO.RU", "uppercase"),
])
def test_host_obfuscation_reaches_the_span(text: str, flag: str) -> None:
    assert flag in one(text).host.obfuscation


@pytest.mark.parametrize(("text", "form"), [
    ("1.2.3.4", "dotted"), ("http://127.1", "short"), ("http://2130706433", "decimal"),
    ("http://0x7f.1", "hex"), ("http://0177.0.0.1", "octal"), ("http://[::1]", "ipv6"),
])
def test_ip_forms(text: str, form: str) -> None:
    span = one(text)
    assert span.host.is_ip and span.host.ip_form == form


def test_ideographic_dot_url_is_not_defanged_but_flagged() -> None:
    span = one("127。0。0。1")
    assert span.defanged is False
    assert span.host.obfuscation == ("ideographic_dot",)


def test_mixed_message_in_order() -> None:
    text = ("Здравствуйте! Оплата по ссылке https://avito-pay.ru/deal/1, "
            "резерв: youla[.]ru-receive[.]online, почта ivan.petrov@mail.ru, т.е. всё.")
    assert [s.host.ascii for s in extract_urls(text)] == ["avito-pay.ru", "youla.ru-receive.online"]


def test_max_urls() -> None:
    text = " ".join(f"site{i}.ru" for i in range(50))
    assert len(extract_urls(text)) == 50
    assert len(extract_urls(text, max_urls=3)) == 3


def test_spans_ordered_and_disjoint() -> None:
    text = "a.ru b.ru https://c.ru/x(d.ru) e.ru/f"
    spans = extract_urls(text)
    assert [s.host.ascii for s in spans] == ["a.ru", "b.ru", "c.ru", "e.ru"]
    for left, right in zip(spans, spans[1:]):
        assert left.end <= right.start


@pytest.mark.parametrize("text", [
    "http://x.com" + "-" * 50_000,
    "a." * 25_000,
    "." * 50_000,
    "a" * 50_000 + ".ru",
    "[.]" * 16_000,
    " . a" * 10_000,
    "https://x.ru/" + "(" * 50_000,
    "ivan.petrov@mail.ru " * 2_500,
])
def test_hostile_inputs_stay_fast(text: str) -> None:
    started = time.perf_counter()
    spans = extract_urls(text)
    assert time.perf_counter() - started < 0.5
    for span in spans:
        assert len(span.raw) <= 2 * 2048 + 600


def test_long_url_is_capped() -> None:
    text = "http://x.com/" + "a" * 10_000 + "/evil.ru next.ru"
    first, second = extract_urls(text)  # the rest of the capped run is skipped, not re-scanned
    assert first.start == 0 and len(first.path) <= 2049
    assert second.raw == "next.ru"
