"""The public suffix list, offline: tldextract's bundled snapshot, read without importing tldextract.

``tldextract`` imports ``requests`` (with urllib3, charset_normalizer, filelock: ~40 ms and ~5 MB) and keeps
the list four times over (two tries, two frozensets: ~10 MB, ~35 ms to build). Only its snapshot file is
needed here, so this module reads that file (located with ``importlib.util.find_spec``, which does not run
the package) into one dict, and reproduces ``TLDExtract(include_psl_private_domains=True)``'s split of a
host exactly (same suffix rules, same wildcard and exception handling, same lenient host parsing);
``tests/test_hosts.py`` compares the two over every rule of the list and generated hosts.

>>> split("pay.avito.ru"), split("a.b.vercel.app"), split("www.ck"), split("x.y.ck")
(('pay', 'avito', 'ru'), ('a', 'b', 'vercel.app'), ('', 'www', 'ck'), ('', 'x', 'y.ck'))
"""

from __future__ import annotations

from functools import lru_cache
from importlib.util import find_spec
from ipaddress import AddressValueError, IPv4Address, IPv6Address
from pathlib import Path

import idna

__all__ = ["rules", "snapshot_path", "split"]

_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")


def snapshot_path() -> Path:
    """The suffix list snapshot shipped inside the installed tldextract package."""
    spec = find_spec("tldextract")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("tldextract is not installed: its public suffix list snapshot is needed")
    return Path(next(iter(spec.submodule_search_locations))) / ".tld_set_snapshot"


@lru_cache(maxsize=1)
def _nodes() -> dict[str, bool]:
    """Every node of tldextract's suffix trie, keyed by its labels joined with dots ("co.uk"): True where a
    rule ends (a suffix, ``*.x`` wildcard or ``!y.x`` exception), False for a node only on the way to one."""
    text = snapshot_path().read_bytes().decode("utf-8")
    nodes: dict[str, bool] = {}
    for suffix in _listed(text):  # the public and the private section alike
        nodes[suffix] = True
        # the nodes on the way ("uk" for "co.uk"); a rule already there stays a rule
        dot = suffix.find(".")
        while dot >= 0:
            nodes.setdefault(suffix[dot + 1 :], False)
            dot = suffix.find(".", dot + 1)
    return nodes


def _listed(text: str) -> list[str]:
    """The rules of the list file, in order: the first word of each line that is not blank or a ``//``
    comment and starts with a letter, digit or one of ``. * !`` followed by one (the list's format)."""
    out = []
    for line in text.splitlines():
        word = line.split(maxsplit=1)[0] if line and not line[0].isspace() else ""
        head = word.lstrip(".*!")
        if head and (head[0].isalnum() or head[0] == "_"):
            out.append(word)
    return out


def rules() -> list[str]:
    """Every rule of the list, public and private (tldextract's ``TLDExtract.tlds``, as a list)."""
    return [k for k, end in _nodes().items() if end]


def _decode_punycode(label: str) -> str:
    lowered = label.lower()
    if lowered.startswith("xn--"):
        try:
            return idna.decode(lowered)
        except (UnicodeError, IndexError):
            pass
    return lowered


def _suffix_index(labels: list[str]) -> int | None:
    """Index in ``labels`` of the first label of the public suffix, None without one
    (tldextract's ``_PublicSuffixListTLDExtractor.suffix_index``, private domains included)."""
    nodes = _nodes()
    n = len(labels)
    suffix_idx = label_idx = n
    path = ""
    for label in reversed(labels):
        decoded = _decode_punycode(label)
        key = f"{decoded}.{path}" if path else decoded
        end = nodes.get(key)
        if end is not None:
            label_idx -= 1
            path = key
            if end:
                suffix_idx = label_idx
            continue
        if (f"*.{path}" if path else "*") in nodes:
            exception = f"!{decoded}.{path}" if path else f"!{decoded}"
            return label_idx if exception in nodes else label_idx - 1
        break
    return None if suffix_idx == n else suffix_idx


def _lenient_host(url: str) -> str:
    """tldextract's ``remote.lenient_netloc``: the host of a URL-like string, case kept."""
    start = url.find("//")
    if start == 0:
        url = url[2:]
    elif start >= 2 and url[start - 1] == ":" and not set(url[: start - 1]) - _SCHEME_CHARS:
        url = url[start + 2 :]
    authority = url.partition("/")[0].partition("?")[0].partition("#")[0]
    after_userinfo = authority.rpartition("@")[-1]
    if after_userinfo and after_userinfo[0] == "[":
        maybe_ipv6 = after_userinfo.partition("]")
        if maybe_ipv6[1] == "]":
            return f"{maybe_ipv6[0]}]"
    return after_userinfo.partition(":")[0].strip().rstrip(".\u3002\uff0e\uff61")


def _is_address(text: str, kind: type[IPv4Address | IPv6Address]) -> bool:
    """Whether ``text`` is an address of ``kind`` as ``ipaddress`` reads it (IPv4: dotted-quad decimal,
    ASCII digits, no leading zeros); such a host has no suffix."""
    try:
        kind(text)
    except AddressValueError:
        return False
    return True


def split(url: str) -> tuple[str, str, str]:
    """(subdomain, domain, suffix) of a host or URL, as ``tldextract.TLDExtract(suffix_list_urls=(),
    cache_dir=None, include_psl_private_domains=True)(url)`` gives them."""
    netloc = _lenient_host(url).replace("\u3002", ".").replace("\uff0e", ".").replace("\uff61", ".")
    if len(netloc) >= 4 and netloc[0] == "[" and netloc[-1] == "]" and _is_address(netloc[1:-1], IPv6Address):
        return ("", netloc, "")
    labels = netloc.split(".")
    idx = _suffix_index(labels)
    if idx is None:
        if len(labels) == 4 and netloc[0].isdecimal() and _is_address(netloc, IPv4Address):
            return ("", netloc, "")
        return (".".join(labels[:-1]), labels[-1], "")
    return (
        ".".join(labels[: idx - 1]) if idx >= 2 else "",
        labels[idx - 1] if idx > 0 else "",
        ".".join(labels[idx:]),
    )
