"""URLs out of chat text: with or without a scheme, defanged, IDN, glued to Cyrillic words.

One compiled regex finds candidates (possessive quantifiers only, so nothing can backtrack
catastrophically; host+path are length-capped); small Python checks then decide.

Decisions worth knowing:

* A schemeless URL gets ``https://`` in ``url``/``display`` (what browsers now try first for a
  typed name); ``scheme`` stays None so callers can tell.
* Schemeless candidates need a registrable domain under a known public suffix (offline PSL,
  private section included), or exactly four decimal octets for IPv4.  File-extension-like
  suffixes (``.md``, ``.py``, ``.zip`` ...) and Title-cased suffixes (``Mr.Smith``, ``it.Is``)
  also need a path, ``www.``, a port, userinfo or an explicit defang.
* With a scheme any valid host counts: single labels, unknown suffixes, every IPv4 form, IPv6.
* Plain e-mail addresses are not URLs; ``avito.ru@evil.xyz/pay`` is (userinfo that looks
  like a domain: a known suffix of at most three letters, or a path after the host).

>>> [u.url for u in extract_urls("Оплата:hxxps://avito-pay[.]ru/x, а почта ivan.petrov@mail.ru")]
['https://avito-pay.ru/x']
>>> u = extract_urls("ссылкаhttps://аvito.ru/pay")[0]
>>> u.raw, u.display, u.url
('https://аvito.ru/pay', 'https://аvito.ru/pay', 'https://xn--vito-43d.ru/pay')
>>> extract_urls("переходитеavito-pay.ru")[0].raw      # a glued Russian word is split off
'avito-pay.ru'
>>> extract_urls("аvito.ru")[0].host.ascii               # ... a lone lookalike "а" is not
'xn--vito-43d.ru'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from phishguard.hosts import BIDI, ZERO_WIDTH, HostInfo, parse_host, top_level_labels

__all__ = ["UrlSpan", "extract_urls"]

MAX_AUTHORITY = 512
MAX_PATH = 2048

#: Public suffixes that are far more often file extensions in chat; schemeless they need more evidence.
FILE_EXTENSION_TLDS = frozenset(
    {"md", "py", "sh", "zip", "mov", "rs", "ps", "so", "ml", "pm", "tf", "java", "mm"}
)


@dataclass(frozen=True, slots=True)
class UrlSpan:
    """One URL found in a text.

    start, end: span in the ORIGINAL text; ``text[start:end] == raw``
    raw:        as written, e.g. ``"hxxps://avito-pay[.]ru/x"``
    url:        refanged machine form with the ascii host (``https://`` assumed when schemeless)
    display:    the same with the unicode host: ``"https://аvito.ru/pay/123"``
    scheme:     lowercase scheme as written (hxxps -> "https"); None when schemeless
    host:       the parsed host
    userinfo:   "avito.ru" for ``https://avito.ru@evil.xyz`` ("" for ``http://@x.ru``), else None
    port:       explicit port or None
    path:       path + query + fragment as written after the authority ("" when none)
    defanged:   hxxp, [.], (dot), [:], spaced dots ...
    """

    start: int
    end: int
    raw: str
    url: str
    display: str
    scheme: str | None
    host: HostInfo
    userinfo: str | None
    port: int | None
    path: str
    defanged: bool


# --- the one regex ----------------------------------------------------------------------------

_INVISIBLE = "".join(sorted(ZERO_WIDTH | BIDI))
_LC = rf"\w\-\u0300-\u036f{_INVISIBLE}"  # label characters (a character-class body)
_LABEL = rf"[{_LC}]{{1,63}}+"
_SEP = r"(?:[.\u3002\uff0e\uff61]|[ ]?[\[({](?i:\.|dot)[\])}][ ]?|[ ]{1,3}\.[ ]?)"
_HOST = rf"(?=[^\W_]|[{_INVISIBLE}]){_LABEL}(?:{_SEP}{_LABEL}){{1,126}}+"
_STOP = r"\s<>\"«»“”„\x00-\x1f\x7f"

_URL_RE = re.compile(
    rf"""
    (?P<scheme>(?i:h[tx][tx]ps?|f[tx]p))
    (?P<csep>(?::|\[:\]|\(:\))[/\\]{{1,3}}+|\[://\])
    (?P<auth>[^{_STOP}/?\#\\,;]{{0,{MAX_AUTHORITY}}}+)
    (?P<spath>[/?\#\\][^{_STOP}]{{0,{MAX_PATH}}}+)?
    |
    (?<![\w\u0300-\u036f{_INVISIBLE}@%])
    (?:(?P<ui>{_HOST})@)?
    (?P<host>{_HOST})
    (?P<tdot>[.\u3002\uff0e\uff61](?=[/:?\#]))?
    (?::(?P<port>[0-9]{{1,5}}+)(?![0-9]))?
    (?P<path>[/?\#][^{_STOP}]{{0,{MAX_PATH}}}+)?
    """,
    re.VERBOSE,
)
_DEFANG_SEP_RE = re.compile(r"[ ]?[\[({](?i:\.|dot)[\])}][ ]?|[ ]{1,3}\.[ ]?")
_MARKER_RE = re.compile(r"[\u3002\uff0e\uff61]|(?i:dot)")
_SPACE_RE = re.compile(r"\s")
_DOTS_RE = re.compile(r"[.\u3002\uff0e\uff61]")

_TRAIL = frozenset(".,!?;:'\"»…\u3002\uff0e\uff61、，！？；：")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
#: Cyrillic letters that pass for Latin ones: a glued Cyrillic prefix made only of these is
#: part of a homoglyph host ("аvito.ru"), anything else is a word to split off.
_CYRILLIC_LOOKALIKES = frozenset("аеёіјкорсухьѕһԁԛԝӏүАВЕЁІЈКМНОРСТХУЅҺԚԜӀҮ")


# --- small helpers ----------------------------------------------------------------------------


def _script(char: str) -> str | None:
    """"L" for ASCII letters, "C" for Cyrillic letters, None for anything else."""
    if char.isascii():
        return "L" if char.isalpha() else None
    return "C" if "\u0400" <= char <= "\u04ff" and char.isalpha() else None


def _cyrillic(word: str) -> bool:
    return all("\u0400" <= c <= "\u04ff" for c in word)


def _trim_end(text: str, body_start: int, end: int, extra: str = "") -> int:
    """Drop trailing punctuation (and unbalanced closing brackets) from ``text[body_start:end]``."""
    while end > body_start:
        char = text[end - 1]
        if char in _TRAIL or char in extra:
            end -= 1
        elif char in _CLOSERS:
            body = text[body_start:end]
            if body.count(char) <= body.count(_CLOSERS[char]):
                break
            end -= 1
        else:
            break
    return end


def _split_glued_prefix(text: str, start: int, end: int) -> int:
    """New start after a Cyrillic word glued before a Latin host (``переходитеavito.ru``)."""
    if text[start].isascii():
        return start
    i = start
    while i < end and _script(text[i]) == "C":
        i += 1
    if i == start or i == end or not (text[i].isascii() and text[i].isalnum()):
        return start
    if all(c in _CYRILLIC_LOOKALIKES for c in text[start:i]):
        return start  # "аvito.ru": a homoglyph, not a glued word
    return i


def _cut_glued_tail(text: str, start: int, end: int) -> int | None:
    """Where a script change splits the last label (``avito-pay.ruспасибо`` -> after "ru")."""
    i = end
    while i > start and text[i - 1] not in ".\u3002\uff0e\uff61 ])}":
        i -= 1
    if text[i:end].isascii():
        return None
    first = next((s for s in map(_script, text[i:end]) if s), None)
    if first is None:
        return None
    for j in range(i + 1, end):
        script = _script(text[j])
        if script and script != first:
            return j
    return None


def _refang(host_text: str) -> str:
    return _DEFANG_SEP_RE.sub(".", host_text) if ("[" in host_text or "(" in host_text
                                                  or "{" in host_text or " " in host_text) else host_text


def _host_part(info: HostInfo, form: str) -> str:
    return f"[{form}]" if info.ip_form == "ipv6" else form


#: ASCII a user part keeps as written in ``url``/``display``; everything else is percent-encoded as
#: UTF-8 (as WHATWG serializes it). Left raw, ``a[b@host`` reads as a broken IPv6 literal to yarl and
#: urllib, and a character that NFKC turns into ``/?#@:%`` makes them refuse the whole URL.
_USERINFO_SAFE = "!$&'()*+,;=:@%`{}|^~"


def _userinfo_form(userinfo: str) -> str:
    """The user part as it appears in ``url`` and ``display`` (``span.userinfo`` keeps it as written).

    >>> _userinfo_form("a[b]"), _userinfo_form("авито.рф"), _userinfo_form("user:pass"), _userinfo_form("@")
    ('a%5Bb%5D', '%D0%B0%D0%B2%D0%B8%D1%82%D0%BE.%D1%80%D1%84', 'user:pass', '@')
    """
    return quote(userinfo, safe=_USERINFO_SAFE, errors="replace")


def _make(text: str, start: int, end: int, scheme: str | None, info: HostInfo, userinfo: str | None,
          port: int | None, path: str, defanged: bool) -> UrlSpan:
    head = f"{scheme or 'https'}://" + (f"{_userinfo_form(userinfo)}@" if userinfo is not None else "")
    tail = (f":{port}" if port is not None else "")
    cut = min((i for i in (path.find("?"), path.find("#")) if i >= 0), default=len(path))
    machine_path = path[:cut].replace("\\", "/") + path[cut:]
    return UrlSpan(
        start=start, end=end, raw=text[start:end],
        url=head + _host_part(info, info.ascii) + tail + machine_path,
        display=head + _host_part(info, info.unicode) + tail + machine_path,
        scheme=scheme, host=info, userinfo=userinfo, port=port, path=path, defanged=defanged,
    )


def _parse_port(port: str) -> int | None | bool:
    """int, None for "no port", False for an invalid one."""
    if not port:
        return None
    if not port.isascii() or not port.isdigit() or int(port) > 65535:
        return False
    return int(port)


# --- the two kinds of candidate ---------------------------------------------------------------


def _with_scheme(text: str, m: re.Match[str]) -> UrlSpan | None:
    scheme_text = m["scheme"].lower()
    scheme = "ftp" if scheme_text[0] == "f" else ("https" if scheme_text.endswith("s") else "http")
    defanged = scheme_text not in ("http", "https", "ftp") or m["csep"][0] in "[("
    auth_start, auth_end = m.span("auth")
    end = m.end()
    if m["spath"]:
        end = _trim_end(text, auth_start, end)
        path = text[auth_end:end]
    else:
        auth_end = end = _trim_end(text, auth_start, auth_end, extra="-_")
        path = ""
    if auth_end > end:  # the path was trimmed away entirely and into the authority
        auth_end = end
    auth = text[auth_start:auth_end]
    userinfo = None
    if "@" in auth:
        userinfo, _, hostport = auth.rpartition("@")
        host_start = auth_start + len(userinfo) + 1
    else:
        hostport, host_start = auth, auth_start
    if hostport.startswith("["):
        close = hostport.find("]")
        host_text, rest = (hostport[: close + 1], hostport[close + 1:]) if close > 0 else (hostport, "")
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:]
    else:
        host_text, _, port_text = hostport.partition(":")
        cut = _cut_glued_tail(text, host_start, host_start + len(host_text)) if not port_text else None
        if cut is not None and not path:
            candidate = parse_host(_refang(text[host_start:cut]))
            if candidate is not None and candidate.registered_domain:
                return _make(text, m.start(), cut, scheme, candidate, userinfo, None, "", defanged)
    port = _parse_port(port_text)
    if port is False:
        return None
    refanged = _refang(host_text)
    info = parse_host(refanged)
    if info is None:
        return None
    return _make(text, m.start(), end, scheme, info, userinfo, port, path, defanged or refanged != host_text)


def _domain_like_userinfo(ui: str, has_path: bool) -> bool:
    info = parse_host(_refang(ui))
    if info is None or not info.registered_domain:
        return False
    return has_path or len(info.suffix.rpartition(".")[2]) <= 3


def _schemeless(text: str, m: re.Match[str]) -> UrlSpan | None:
    host_start, host_end = m.span("host")
    path = m["path"] or ""
    ui = m["ui"]
    if ui is not None and not _domain_like_userinfo(ui, bool(path)):
        return None  # an e-mail address
    start = m.start() if ui is not None else _split_glued_prefix(text, host_start, host_end)
    if ui is None:
        host_start = start
    end = m.end()
    port_text = m["port"] or ""
    tdot = m["tdot"] or ""
    if not (tdot or port_text or path):
        if end < len(text) and text[end] == "@":
            return None  # the local part of an e-mail address
        while host_end > host_start and text[host_end - 1] in "-_":
            host_end -= 1
        end = host_end
        cut = _cut_glued_tail(text, host_start, host_end)
        if cut is not None:
            glued = parse_host(_refang(text[host_start:cut]))
            if glued is not None and glued.registered_domain:
                end = host_end = cut
    elif path:
        end = _trim_end(text, m.start("path"), end)
        path = text[m.start("path"):end]
    host_text = text[host_start:host_end]
    refanged = _refang(host_text)
    last = _DOTS_RE.split(refanged)[-1]
    if last.isalpha() and last.lower() not in top_level_labels() and (last.isascii() or _cyrillic(last)):
        return None  # prose ("Привет.Как", "file.txt"): no such TLD, and no costly IDNA for it
    info = parse_host(refanged + tdot)
    if info is None:
        return None
    spaced = " " in host_text
    defanged = refanged != host_text
    if info.is_ip:
        if info.ip_form != "dotted" or spaced or ui is not None:
            return None
    else:
        if not info.registered_domain or (spaced and len(info.domain) < 3):
            return None
        evidence = bool(path or port_text or ui is not None or defanged or info.subdomain.startswith("www"))
        title_case = last[:1].isupper() and any(c.islower() for c in last[1:])
        if not evidence and (title_case or info.suffix in FILE_EXTENSION_TLDS):
            return None
    port = _parse_port(port_text)
    if port is False:
        return None
    return _make(text, start, end, None, info, ui, port, path, defanged)


# --- public API -------------------------------------------------------------------------------


def extract_urls(text: str, *, max_urls: int = 100) -> list[UrlSpan]:
    """URLs in ``text`` in order of appearance, spans never overlapping.

    >>> [(u.raw, u.url) for u in extract_urls("Привет.Как дела? Заходи на www.avito.ru или olx.pl.")]
    [('www.avito.ru', 'https://www.avito.ru'), ('olx.pl', 'https://olx.pl')]
    >>> u = extract_urls("(https://avito.ru@evil.xyz/pay)")[0]
    >>> u.host.ascii, u.userinfo, u.path
    ('evil.xyz', 'avito.ru', '/pay')
    >>> extract_urls("т.е. 1.500.000 руб до 12.05.2024, файл report.pdf и main.py")
    []
    """
    if not text or ("." not in text and ":" not in text and not _MARKER_RE.search(text)):
        return []
    found: list[UrlSpan] = []
    pos, size = 0, len(text)
    while pos < size and len(found) < max_urls:
        m = _URL_RE.search(text, pos)
        if m is None:
            break
        span = _with_scheme(text, m) if m["scheme"] else _schemeless(text, m)
        if span is not None and (not found or span.start >= found[-1].end):
            found.append(span)
        pos = max(m.end(), m.start() + 1)
        if len(m["auth"] or "") >= MAX_AUTHORITY or len(m["spath"] or m["path"] or "") > MAX_PATH:
            # capped: the rest of this run is no new URL
            ws = _SPACE_RE.search(text, pos)
            pos = ws.start() if ws else size
    return found
