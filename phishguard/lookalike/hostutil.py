"""``host_of``: a HostInfo for tests, benchmarks and doctests.

Uses :func:`phishguard.hosts.parse_host` when it is implemented; until then (or if it rejects the input)
a minimal offline builder: IDNA (UTS #46) both ways + :func:`phishguard.psl.split` (tldextract's bundled
suffix list only).
"""

from __future__ import annotations

import ipaddress

import idna

from ..hosts import HostInfo
from ..psl import split
from .skeleton import script_of

__all__ = ["host_of"]


def host_of(raw: str) -> HostInfo:
    """HostInfo for ``raw`` (a host name or IP literal)."""
    try:
        from ..hosts import parse_host

        h = parse_host(raw)
        if h is not None:
            return h
    except NotImplementedError:
        pass
    return _fallback(raw)


def _fallback(raw: str) -> HostInfo:
    s = raw.strip().rstrip(".").replace("\u3002", ".").replace("\uff0e", ".").replace("\uff61", ".")
    try:
        ip = ipaddress.ip_address(s.strip("[]"))
        return HostInfo(raw=raw, ascii=str(ip), unicode=str(ip), registered_domain="", suffix="", domain="",
                        subdomain="", ip=ip, ip_form="ipv6" if ip.version == 6 else "dotted")
    except ValueError:
        pass
    labels = []
    for label in s.split("."):
        try:
            labels.append(idna.encode(label, uts46=True).decode("ascii") if label else label)
        except idna.IDNAError:
            labels.append(label.lower())
    ascii_host = ".".join(labels)
    try:
        uni = ".".join(idna.decode(x) if x.startswith("xn--") else x for x in labels)
    except idna.IDNAError:
        uni = ascii_host
    subdomain, domain, suffix = split(ascii_host)
    reg = f"{domain}.{suffix}" if domain and suffix else ""
    return HostInfo(raw=raw, ascii=ascii_host, unicode=uni, registered_domain=reg, suffix=suffix,
                    domain=domain, subdomain=subdomain,
                    scripts=frozenset(script_of(c) for c in uni if c.isalpha()))
