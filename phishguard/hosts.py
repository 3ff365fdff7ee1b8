"""Host normalization: IDNA (UTS #46) both ways, IP literals in every form, registered domain.

CONTRACT (owned by the extractor/host work; other modules rely on these names and fields).

Everything here is offline: the registered domain comes from the public suffix list snapshot that
ships inside tldextract (private suffixes included; read by :mod:`phishguard.psl` with tldextract's
rules, without importing tldextract), never from the network or ``~/.cache``.

>>> h = parse_host("аvito.ru")          # Cyrillic "а"
>>> h.ascii, h.unicode, h.registered_domain, sorted(h.scripts)
('xn--vito-43d.ru', 'аvito.ru', 'xn--vito-43d.ru', ['Cyrillic', 'Latin'])
>>> parse_host("0x7f.1").ip, parse_host("0x7f.1").ip_form
(IPv4Address('127.0.0.1'), 'hex')
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

import idna

__all__ = ["HostInfo", "parse_host", "split_registered", "top_level_labels"]


@dataclass(frozen=True, slots=True)
class HostInfo:
    """One host as phishguard sees it.

    raw:          the host as written, after defang separators were turned into dots (may hold
                  fullwidth letters, zero-width characters, a trailing dot, upper case ...)
    ascii:        the machine form: lowercase IDNA/punycode, no trailing dot ("xn--vito-43d.ru");
                  for IP literals the canonical address ("127.0.0.1", "::1")
    unicode:      the form shown to people ("аvito.ru"); equals ``ascii`` for plain ASCII hosts
    registered_domain: ascii registrable domain ("xn--vito-43d.ru"; "" for IPs and unknown suffixes)
    suffix:       ascii public suffix ("ru", "com.ua"; "" when unknown)
    domain:       ascii label just left of the suffix ("xn--vito-43d"; "" when the suffix is unknown)
    subdomain:    ascii labels left of ``domain`` ("" when none or when the suffix is unknown)
    ip:           the address for IP literals, else None
    ip_form:      how the IP was written: "dotted", "short" (127.1), "decimal", "hex", "octal",
                  "mixed", "ipv6"; None for names
    scripts:      scripts of the letters in the unicode form, e.g. frozenset({"Latin", "Cyrillic"})
                  (first word of the Unicode character name, title-cased: "Greek", "Cjk", ...)
    obfuscation:  what was removed or folded to get ``ascii``, in order of first occurrence; values:
                  "zero_width", "bidi", "fullwidth", "ideographic_dot", "trailing_dot",
                  "percent_encoded", "uppercase".  ("fullwidth" covers every compatibility form
                  NFKC folds: fullwidth/halfwidth, mathematical and circled letters ...;
                  "percent_encoded" is listed first because it is undone first.)
    """

    raw: str
    ascii: str
    unicode: str
    registered_domain: str
    suffix: str
    domain: str
    subdomain: str
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    ip_form: str | None = None
    scripts: frozenset[str] = frozenset()
    obfuscation: tuple[str, ...] = ()

    @property
    def is_ip(self) -> bool:
        return self.ip is not None

    @property
    def is_idn(self) -> bool:
        """True when any label is internationalized (non-ASCII as written, or ``xn--``)."""
        return self.ascii.startswith("xn--") or ".xn--" in self.ascii

    @property
    def registered_domain_unicode(self) -> str:
        """The registered domain in display form.

        >>> parse_host("pay.авито.рф").registered_domain_unicode
        'авито.рф'
        >>> parse_host("pay.avito.ru").registered_domain_unicode
        'avito.ru'
        """
        if not self.registered_domain:
            return ""
        n = self.registered_domain.count(".") + 1
        labels = self.unicode.split(".")
        return ".".join(labels[-n:]) if len(labels) >= n else self.registered_domain


# --- character classes ------------------------------------------------------------------------

#: Invisible characters that UTS #46 silently drops (or that only hide things in a host).
ZERO_WIDTH = frozenset(
    "\u00ad\u034f\u180b\u180c\u180d\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
)
#: Bidirectional controls (embeddings, overrides, isolates, marks).
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Dots that browsers and UTS #46 treat as label separators.
IDEOGRAPHIC_DOTS = frozenset("\u3002\uff0e\uff61")

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_ASCII_HOST_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_IPV4_PART_RE = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")

_IDNA_ERRORS = (idna.IDNAError, UnicodeError, ValueError)


# --- registered domain (offline public suffix list) -----------------------------------------


@lru_cache(maxsize=1)
def _psl() -> Callable[[str], tuple[str, str, str]]:
    """The offline suffix split (:func:`phishguard.psl.split`: tldextract's bundled PSL snapshot, private
    suffixes, tldextract's own rules, without importing tldextract); the list is read on first use."""
    from . import psl
    from .resources import loading

    with loading():  # a one-time cost (~10 ms): no scan's time budget counts it
        psl.rules()
    return psl.split


@lru_cache(maxsize=65536)
def split_registered(ascii_host: str) -> tuple[str, str, str]:
    """(subdomain, domain, suffix) of an ASCII host via the offline public suffix list; cached.

    An unknown suffix gives ``("", "", "")``; a host that is itself a public suffix gives
    ``("", "", suffix)``.

    >>> split_registered("pay.avito.ru")
    ('pay', 'avito', 'ru')
    >>> split_registered("shop.example.com.ua")
    ('shop', 'example', 'com.ua')
    >>> split_registered("avito-pay.vercel.app")    # private PSL section, on purpose
    ('', 'avito-pay', 'vercel.app')
    >>> split_registered("pay.xn--80aesyt.xn--p1ai")
    ('pay', 'xn--80aesyt', 'xn--p1ai')
    >>> split_registered("avito.invalidtld")
    ('', '', '')
    """
    shown = _decode_labels(ascii_host) if "xn--" in ascii_host else ascii_host
    return _split(ascii_host, shown or ascii_host)


def _split(ascii_host: str, shown: str) -> tuple[str, str, str]:
    """Split ``ascii_host`` using its display form ``shown`` (labels correspond one to one).

    The suffix list is matched in its Unicode form; handing it the display form spares it one
    punycode decode per label, which costs more than everything else here together.
    """
    _, domain, suffix_shown = _psl()(shown)
    if not suffix_shown:
        return ("", "", "")
    labels = ascii_host.split(".")
    n_suffix = suffix_shown.count(".") + 1
    suffix = ".".join(labels[-n_suffix:])
    if not domain:
        return ("", "", suffix)
    return (".".join(labels[: -n_suffix - 1]), labels[-n_suffix - 1], suffix)


_split_cached = lru_cache(maxsize=65536)(_split)


@lru_cache(maxsize=1)
def top_level_labels() -> frozenset[str]:
    """Every rightmost label of the offline public suffix list, Unicode form ("ru", "рф")."""
    from . import psl

    _psl()
    return frozenset(suffix.rpartition(".")[2] for suffix in psl.rules())


# --- IP literals ------------------------------------------------------------------------------


def _ipv4_number(part: str) -> tuple[int, str] | None:
    """WHATWG "IPv4 number parser": (value, radix name) or None."""
    if not _IPV4_PART_RE.fullmatch(part):
        return None
    if part[:2] in ("0x", "0X"):
        return (int(part[2:] or "0", 16), "hex")
    if len(part) > 1 and part[0] == "0":
        return (int(part, 8), "octal")
    return (int(part), "decimal")


def _ends_in_number(host: str) -> bool:
    """WHATWG "ends in a number checker": such hosts must parse as IPv4 or are invalid."""
    last = host.rpartition(".")[2]
    if last.isascii() and last.isdigit():
        return True
    return last[:2] in ("0x", "0X") and _ipv4_number(last) is not None


def _parse_ipv4(host: str) -> tuple[ipaddress.IPv4Address, str] | None:
    """WHATWG IPv4 parser (1-4 parts, decimal/octal/hex); returns (address, ip_form) or None.

    >>> _parse_ipv4("017700000001")
    (IPv4Address('127.0.0.1'), 'octal')
    >>> _parse_ipv4("256.1.1.1") is None
    True
    """
    parts = host.split(".")
    if len(parts) > 4 or any(not p for p in parts):
        return None
    numbers: list[int] = []
    radixes: set[str] = set()
    for part in parts:
        parsed = _ipv4_number(part)
        if parsed is None:
            return None
        numbers.append(parsed[0])
        radixes.add(parsed[1])
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n << (8 * (3 - i))
    if {"hex", "octal"} <= radixes:
        form = "mixed"
    elif "hex" in radixes:
        form = "hex"
    elif "octal" in radixes:
        form = "octal"
    elif len(parts) == 4:
        form = "dotted"
    elif len(parts) == 1:
        form = "decimal"
    else:
        form = "short"
    return (ipaddress.IPv4Address(value), form)


def _ip_info(raw: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, form: str,
             obfuscation: tuple[str, ...]) -> HostInfo:
    text = ip.compressed
    return HostInfo(raw=raw, ascii=text, unicode=text, registered_domain="", suffix="", domain="",
                    subdomain="", ip=ip, ip_form=form, obfuscation=obfuscation)


def _parse_ipv6(raw: str) -> HostInfo | None:
    inner = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    if "%" in inner:  # zone identifiers are not allowed in URLs (WHATWG)
        return None
    try:
        ip = ipaddress.IPv6Address(inner)
    except ValueError:
        return None
    flags = ("uppercase",) if any(c.isupper() for c in inner) else ()
    return _ip_info(raw, ip, "ipv6", flags)


# --- names ------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _script(char: str) -> str:
    return unicodedata.name(char, "UNKNOWN").split(" ", 1)[0].title()


def _scripts(text: str) -> frozenset[str]:
    if text.isascii():
        return frozenset({"Latin"}) if any(c.isalpha() for c in text) else frozenset()
    return frozenset(_script(c) for c in text if c.isalpha())


def _fold(text: str) -> tuple[str, list[str]] | None:
    """Drop invisible characters, fold dots and compatibility forms; record what was done."""
    flags: list[str] = []
    out: list[str] = []

    def flag(name: str) -> None:
        if name not in flags:
            flags.append(name)

    for char in text:
        if char in ZERO_WIDTH:
            flag("zero_width")
        elif char in BIDI:
            flag("bidi")
        elif char in IDEOGRAPHIC_DOTS:
            flag("ideographic_dot")
            out.append(".")
        elif char.isascii():
            if char.isupper():
                flag("uppercase")
            out.append(char)
        elif ord(char) < 0xA0 or char.isspace():
            return None  # C1 controls, NBSP and other spaces: not part of any host
        else:
            folded = unicodedata.normalize("NFKC", char)
            if folded.isascii() and not folded.isalnum():
                return None  # e.g. "⒈" -> "1.", "／" -> "/": UTS #46 disallows these
            if folded != char and unicodedata.decomposition(char).startswith("<"):
                flag("fullwidth")
            if folded != folded.lower():
                flag("uppercase")
            out.append(folded)
    return "".join(out), flags


def _decode_labels(ascii_host: str) -> str | None:
    """Unicode display form of an ASCII host: every ``xn--`` label decoded, None if invalid."""
    labels = ascii_host.split(".")
    for i, label in enumerate(labels):
        if label.startswith("xn--"):
            try:
                labels[i] = idna.decode(label)
            except _IDNA_ERRORS:
                return None
    return ".".join(labels)


def _name_info(raw: str, ascii_host: str, unicode_host: str, flags: tuple[str, ...]) -> HostInfo:
    subdomain, domain, suffix = _split_cached(ascii_host, unicode_host)
    registered = f"{domain}.{suffix}" if domain else ""
    return HostInfo(raw=raw, ascii=ascii_host, unicode=unicode_host, registered_domain=registered,
                    suffix=suffix, domain=domain, subdomain=subdomain,
                    scripts=_scripts(unicode_host), obfuscation=flags)


@lru_cache(maxsize=65536)
def parse_host(raw: str) -> HostInfo | None:
    """Normalize one host; None when it is not a valid host name or IP literal.

    Never raises.  Plain ASCII names skip ``idna`` entirely (fast path).

    >>> h = parse_host("ＡＶＩＴＯ．ru.")
    >>> h.ascii, h.obfuscation
    ('avito.ru', ('fullwidth', 'uppercase', 'ideographic_dot', 'trailing_dot'))
    >>> parse_host("av\\u200bito.ru").obfuscation
    ('zero_width',)
    >>> parse_host("xn--vito-43d.ru").unicode
    'аvito.ru'
    >>> parse_host("%31%32%37.0.0.1").ip_form, parse_host("127.1").ip_form, parse_host("[::1]").ascii
    ('dotted', 'short', '::1')
    >>> parse_host("a..ru") is None, parse_host("foo.1") is None
    (True, True)
    """
    if not isinstance(raw, str) or not raw or len(raw) > 1024:
        return None
    if ":" in raw:
        return _parse_ipv6(raw)
    flags: list[str] = []
    text = raw
    if "%" in text:
        text = unquote(text, errors="strict") if _valid_percent(text) else ""
        if not text:
            return None
        flags.append("percent_encoded")
    folded = _fold(text)
    if folded is None:
        return None
    host, more = folded
    flags.extend(f for f in more if f not in flags)
    if host.endswith("."):
        host = host[:-1]
        flags.append("trailing_dot")
    if not host or len(host) > 253:
        return None
    if host.isascii():
        ascii_host, unicode_host = host.lower(), None
    else:
        converted = _to_ascii(host)
        if converted is None:
            return None
        ascii_host, unicode_host = converted
    if _ends_in_number(ascii_host):
        parsed = _parse_ipv4(ascii_host)
        return _ip_info(raw, parsed[0], parsed[1], tuple(flags)) if parsed else None
    if len(ascii_host) > 253 or not _ASCII_HOST_RE.fullmatch(ascii_host):
        return None
    if unicode_host is None or "xn--" in unicode_host:
        unicode_host = _decode_labels(ascii_host) if "xn--" in ascii_host else ascii_host
    return _name_info(raw, ascii_host, unicode_host, tuple(flags)) if unicode_host else None


def _to_ascii(host: str) -> tuple[str, str] | None:
    """(ascii, unicode) by ToASCII label by label: ``idna`` (UTS #46) for non-ASCII labels only.

    ASCII labels are left to the browser-like rules of ``_ASCII_HOST_RE`` (underscores and
    "--" in positions 3-4 allowed, as WHATWG's CheckHyphens=false does), so a host's validity
    does not depend on whether one of its other labels is written in Unicode or punycode.
    The unicode form of a non-ASCII label is its UTS #46 mapping (no punycode round trip).
    """
    labels = host.split(".")
    shown = labels[:]
    for i, label in enumerate(labels):
        if not label.isascii():
            try:
                labels[i] = idna.encode(label, uts46=True, transitional=False).decode("ascii")
                shown[i] = unicodedata.normalize("NFC", idna.uts46_remap(label, False, False))
            except _IDNA_ERRORS:
                return None
        else:
            shown[i] = labels[i] = label.lower()
    return ".".join(labels), ".".join(shown)


_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _valid_percent(text: str) -> bool:
    """Every ``%`` starts a two-digit escape, and the escapes decode as UTF-8."""
    if _PERCENT_RE.search(text):
        return False
    try:
        unquote(text, errors="strict")
    except UnicodeDecodeError:
        return False
    return True
