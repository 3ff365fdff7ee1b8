"""phishguard.hosts: IDNA both ways, obfuscation flags, IP literals, registered domain, offline."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from phishguard.hosts import HostInfo, parse_host, split_registered

# --- IDNA round trips -------------------------------------------------------------------------

IDN = [
    # (written, ascii, unicode)
    ("аvito.ru", "xn--vito-43d.ru", "аvito.ru"),
    ("xn--vito-43d.ru", "xn--vito-43d.ru", "аvito.ru"),
    ("XN--VITO-43D.RU", "xn--vito-43d.ru", "аvito.ru"),
    ("авито.рф", "xn--80aesyt.xn--p1ai", "авито.рф"),
    ("АВИТО.РФ", "xn--80aesyt.xn--p1ai", "авито.рф"),
    ("xn--80aesyt.xn--p1ai", "xn--80aesyt.xn--p1ai", "авито.рф"),
    ("магазин.рус", "xn--80aairftm.xn--p1acf", "магазин.рус"),
    ("сайт.укр", "xn--80aswg.xn--j1amh", "сайт.укр"),
    ("сайт.бел", "xn--80aswg.xn--90ais", "сайт.бел"),
    ("pay.аvіtо.ru", "pay.xn--vt-6kc2d7f.ru", "pay.аvіtо.ru"),
    ("bücher.de", "xn--bcher-kva.de", "bücher.de"),
]


@pytest.mark.parametrize(("written", "ascii_form", "unicode_form"), IDN)
def test_idna_both_ways(written: str, ascii_form: str, unicode_form: str) -> None:
    info = parse_host(written)
    assert info is not None
    assert (info.ascii, info.unicode) == (ascii_form, unicode_form)
    assert info.is_idn
    again = parse_host(info.unicode)
    assert again is not None and again.ascii == ascii_form


def test_plain_ascii_is_not_idn() -> None:
    info = parse_host("avito.ru")
    assert info is not None
    assert info.ascii == info.unicode == "avito.ru"
    assert not info.is_idn and not info.is_ip
    assert info.obfuscation == ()


def test_plain_ascii_skips_idna(monkeypatch: pytest.MonkeyPatch) -> None:
    import idna

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("idna called on a plain ASCII host")

    monkeypatch.setattr(idna, "encode", boom)
    monkeypatch.setattr(idna, "decode", boom)
    parse_host.cache_clear()
    info = parse_host("sub.fast-path-host.ru")
    assert info is not None and info.registered_domain == "fast-path-host.ru"


# --- obfuscation flags ------------------------------------------------------------------------

OBFUSCATION = [
    ("av\u200bito.ru", "avito.ru", ("zero_width",)),
    ("a\u200db.com", "ab.com", ("zero_width",)),
    ("a\u200cb.com", "ab.com", ("zero_width",)),
    ("avi\u2060to.ru", "avito.ru", ("zero_width",)),
    ("\ufeffavito.ru", "avito.ru", ("zero_width",)),
    ("avi\u00adto.ru", "avito.ru", ("zero_width",)),
    ("\u202eavito.ru", "avito.ru", ("bidi",)),
    ("avito\u200e.ru", "avito.ru", ("bidi",)),
    ("\u2066avito.ru\u2069", "avito.ru", ("bidi",)),
    ("ＡＶＩＴＯ.ru", "avito.ru", ("fullwidth", "uppercase")),
    ("ａｖｉｔｏ.ru", "avito.ru", ("fullwidth",)),
    ("avito．ru", "avito.ru", ("ideographic_dot",)),
    ("avito。ru", "avito.ru", ("ideographic_dot",)),
    ("avito｡ru", "avito.ru", ("ideographic_dot",)),
    ("avito.ru.", "avito.ru", ("trailing_dot",)),
    ("%61vito.ru", "avito.ru", ("percent_encoded",)),
    ("AVITO.RU", "avito.ru", ("uppercase",)),
    ("Avito.ru.", "avito.ru", ("uppercase", "trailing_dot")),
    ("av\u200bito．ＲＵ", "avito.ru", ("zero_width", "ideographic_dot", "fullwidth", "uppercase")),
    ("\u202eаvito.ru", "xn--vito-43d.ru", ("bidi",)),
]


@pytest.mark.parametrize(("written", "ascii_form", "flags"), OBFUSCATION)
def test_obfuscation_is_recorded(written: str, ascii_form: str, flags: tuple[str, ...]) -> None:
    info = parse_host(written)
    assert info is not None
    assert info.ascii == ascii_form
    assert info.obfuscation == flags
    assert info.raw == written


def test_zero_width_is_flagged_although_idna_drops_it() -> None:
    import idna

    assert idna.encode("ex\u200bample.com", uts46=True) == b"example.com"  # the trap
    info = parse_host("ex\u200bample.com")
    assert info is not None and "zero_width" in info.obfuscation


# --- IP literals ------------------------------------------------------------------------------

IPS = [
    ("1.2.3.4", "1.2.3.4", "dotted", ()),
    ("127.0.0.1", "127.0.0.1", "dotted", ()),
    ("127.1", "127.0.0.1", "short", ()),
    ("10.1.2", "10.1.0.2", "short", ()),
    ("2130706433", "127.0.0.1", "decimal", ()),
    ("0x7f000001", "127.0.0.1", "hex", ()),
    ("0X7F000001", "127.0.0.1", "hex", ("uppercase",)),
    ("0x7f.1", "127.0.0.1", "hex", ()),
    ("0x7f.0x0.0x0.0x1", "127.0.0.1", "hex", ()),
    ("017700000001", "127.0.0.1", "octal", ()),
    ("0177.0.0.1", "127.0.0.1", "octal", ()),
    ("0x7f.0.0.01", "127.0.0.1", "mixed", ()),
    ("127.0.0.1.", "127.0.0.1", "dotted", ("trailing_dot",)),
    ("127。0。0。1", "127.0.0.1", "dotted", ("ideographic_dot",)),
    ("１２７.０.０.１", "127.0.0.1", "dotted", ("fullwidth",)),
    ("%31%32%37.0.0.1", "127.0.0.1", "dotted", ("percent_encoded",)),
    ("0", "0.0.0.0", "decimal", ()),
    ("0x", "0.0.0.0", "hex", ()),
    ("[::1]", "::1", "ipv6", ()),
    ("::1", "::1", "ipv6", ()),
    ("[::ffff:127.0.0.1]", "::ffff:7f00:1", "ipv6", ()),
    ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1", "ipv6", ()),
    ("64:ff9b::7f00:1", "64:ff9b::7f00:1", "ipv6", ()),
    ("[2001:DB8::1]", "2001:db8::1", "ipv6", ("uppercase",)),
]


@pytest.mark.parametrize(("written", "address", "form", "flags"), IPS)
def test_ip_literals(written: str, address: str, form: str, flags: tuple[str, ...]) -> None:
    info = parse_host(written)
    assert info is not None
    assert info.is_ip
    assert info.ip == ipaddress.ip_address(address)
    assert info.ascii == info.unicode == ipaddress.ip_address(address).compressed
    assert info.ip_form == form
    assert info.obfuscation == flags
    assert (info.registered_domain, info.suffix, info.domain, info.subdomain) == ("", "", "", "")
    assert info.scripts == frozenset()


def test_ipv4_mapped_and_nat64_keep_the_embedded_address() -> None:
    mapped = parse_host("[::ffff:127.0.0.1]")
    nat64 = parse_host("[64:ff9b::7f00:1]")
    assert mapped is not None and nat64 is not None
    assert isinstance(mapped.ip, ipaddress.IPv6Address) and isinstance(nat64.ip, ipaddress.IPv6Address)
    assert mapped.ip.ipv4_mapped == ipaddress.IPv4Address("127.0.0.1")
    assert nat64.ip in ipaddress.IPv6Network("64:ff9b::/96")


# --- registered domain ------------------------------------------------------------------------

REGISTERED = [
    # (host, registered_domain, suffix, domain, subdomain)
    ("avito.ru", "avito.ru", "ru", "avito", ""),
    ("www.avito.ru", "avito.ru", "ru", "avito", "www"),
    ("a.b.avito.ru", "avito.ru", "ru", "avito", "a.b"),
    ("shop.example.com.ua", "example.com.ua", "com.ua", "example", "shop"),
    ("olx.com.ua", "olx.com.ua", "com.ua", "olx", ""),
    ("olx.pl", "olx.pl", "pl", "olx", ""),
    ("allegro.pl", "allegro.pl", "pl", "allegro", ""),
    ("avito-pay.vercel.app", "avito-pay.vercel.app", "vercel.app", "avito-pay", ""),
    ("avito-pay.github.io", "avito-pay.github.io", "github.io", "avito-pay", ""),
    ("youla.ru-receive.online", "ru-receive.online", "online", "ru-receive", "youla"),
    ("авито.рф", "xn--80aesyt.xn--p1ai", "xn--p1ai", "xn--80aesyt", ""),
    ("pay.авито.рф", "xn--80aesyt.xn--p1ai", "xn--p1ai", "xn--80aesyt", "pay"),
    ("avito.invalidtld", "", "", "", ""),
    ("localhost", "", "", "", ""),
    ("com.ua", "", "com.ua", "", ""),
]


@pytest.mark.parametrize(("host", "registered", "suffix", "domain", "subdomain"), REGISTERED)
def test_registered_domain(host: str, registered: str, suffix: str, domain: str, subdomain: str) -> None:
    info = parse_host(host)
    assert info is not None
    assert (info.registered_domain, info.suffix, info.domain, info.subdomain) == (
        registered, suffix, domain, subdomain)


def test_registered_domain_unicode() -> None:
    info = parse_host("pay.авито.рф")
    assert info is not None and info.registered_domain_unicode == "авито.рф"
    assert parse_host("x.avito.ru").registered_domain_unicode == "avito.ru"  # type: ignore[union-attr]
    assert parse_host("localhost").registered_domain_unicode == ""  # type: ignore[union-attr]
    assert parse_host("127.0.0.1").registered_domain_unicode == ""  # type: ignore[union-attr]


def test_split_registered_is_cached() -> None:
    split_registered.cache_clear()
    split_registered("cache-me.ru")
    split_registered("cache-me.ru")
    assert split_registered.cache_info().hits >= 1


# --- scripts ----------------------------------------------------------------------------------

SCRIPTS = [
    ("avito.ru", {"Latin"}),
    ("аvito.ru", {"Latin", "Cyrillic"}),
    ("аvіtо.ru", {"Latin", "Cyrillic"}),
    ("авито.рф", {"Cyrillic"}),
    ("αvito.com", {"Greek", "Latin"}),
    ("123-456.ru", {"Latin"}),
    ("1-2.xn--p1ai", {"Cyrillic"}),
]


@pytest.mark.parametrize(("host", "scripts"), SCRIPTS)
def test_scripts(host: str, scripts: set[str]) -> None:
    info = parse_host(host)
    assert info is not None and info.scripts == frozenset(scripts)


# --- invalid hosts ----------------------------------------------------------------------------

INVALID = [
    "",
    ".",
    "..",
    "a..ru",
    ".avito.ru",
    "avito.ru..",
    "a" * 64 + ".ru",
    ".".join(["abcdefghi"] * 26) + ".ru",  # > 253 characters
    "-avito.ru",
    "avito-.ru",
    "xn--zz.ru",
    "xn--abc.ru",
    "xn--avito-.ru",
    "ex ample.com",
    "ex\tample.com",
    "avito.ru:80",
    "foo.1",
    "foo.0x7f",
    "1.2.3.4.5",
    "256.1.1.1",
    "1.2.3.256",
    "4294967296",
    "0x100000000",
    "08.1.1.1",
    "[::1",
    "[fe80::1%25eth0]",
    "[::g]",
    "a⒈ru",
    "a／b.ru",
    "%zz.ru",
    "%ff.ru",
    "a\x00b.ru",
    "a\x85b.ru",
    "a\u00a0b.ru",
    "a/b.ru",
    "a@b.ru",
    "\ud800.ru",
]


@pytest.mark.parametrize("host", INVALID)
def test_invalid_hosts_are_none(host: str) -> None:
    assert parse_host(host) is None


def test_wrong_type_is_none() -> None:
    assert parse_host(None) is None  # type: ignore[arg-type]


def test_hostinfo_is_frozen() -> None:
    info = parse_host("avito.ru")
    assert isinstance(info, HostInfo)
    with pytest.raises(AttributeError):
        info.ascii = "evil.ru"  # type: ignore[misc]


# --- never the network ------------------------------------------------------------------------


def test_no_network_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from phishguard import hosts, psl
    from phishguard.extract import extract_urls

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    hosts._psl.cache_clear()
    psl._nodes.cache_clear()
    split_registered.cache_clear()
    parse_host.cache_clear()
    info = parse_host("pay.avito-network-check.com.ua")
    assert info is not None and info.registered_domain == "avito-network-check.com.ua"
    assert [u.host.ascii for u in extract_urls("см. https://аvito.ru/pay и olx.pl")] == [
        "xn--vito-43d.ru", "olx.pl"]


def test_offline_with_empty_home(tmp_path: Path) -> None:
    """A fresh interpreter with an empty HOME, no proxy and sockets disabled writes nothing."""
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise SystemExit('network access attempted')\n"
        "socket.socket.connect = refuse; socket.getaddrinfo = refuse\n"
        "from phishguard.hosts import parse_host\n"
        "assert parse_host('avito-pay.vercel.app').registered_domain == 'avito-pay.vercel.app'\n"
    )
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env.update(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "xdg"), PYTHONWARNINGS="error")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


# --- the public suffix list: phishguard.psl against tldextract itself ----------------------------


def test_psl_split_matches_tldextract() -> None:
    """``phishguard.psl`` reads tldextract's snapshot without importing tldextract: it must split every host
    as ``TLDExtract(include_psl_private_domains=True)`` does (every rule, its neighbours, odd inputs)."""
    import random

    import idna
    import tldextract

    from phishguard import psl

    ext = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)
    rules = psl.rules()
    assert sorted(rules) == sorted(ext.tlds)
    hosts = [
        "", ".", "..", "a..com", "com.", "1.2.3.4", "01.2.3.4", "[::1]", "[::1]:80", "http://user@x.com:80/p?q#f",
        "//x.co.uk", "x.co.uk.", "ck", "www.ck", "x.y.ck", "a.www.ck", "x。co。uk", "256.1.1.1", "1.2.3",
        "xn--p1ai", "xn--zz.ru", "авито.рф", "pay.авито.рф", "a.city.kawasaki.jp", "city.kawasaki.jp",
        "foo.bar.compute.amazonaws.com", "ftp:/x.com", "a:b//c.com", "x.com:", "@", "[", "[x]", "[::1", " x.COM ",
    ]
    for rule in rules:
        base = rule.replace("*", "x").lstrip("!")
        hosts += [rule, base, "a." + base, "b.a." + base, "WWW." + base.upper(), base.partition(".")[2]]
        try:
            hosts.append("pay.avito." + idna.encode(base, uts46=True).decode("ascii"))
        except idna.IDNAError:
            pass
    rnd = random.Random(7)
    hosts += ["".join(rnd.choice("abc.xn--*!-1。 :/@[]рф") for _ in range(rnd.randint(0, 12))) for _ in range(5000)]
    for h in hosts:
        e = ext(h)
        assert psl.split(h) == (e.subdomain, e.domain, e.suffix), h


def test_scanning_does_not_import_tldextract() -> None:
    code = (
        "import sys; from phishguard.scanner import Scanner; Scanner().scan('pay at https://avito.ru.pay-x.top/1');"
        "print('tldextract' in sys.modules, 'requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
