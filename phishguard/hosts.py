"""Host normalization: IDNA (UTS #46) both ways, IP literals in every form, registered domain.

CONTRACT (owned by the extractor/host work; other modules rely on these names and fields).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["HostInfo", "parse_host", "split_registered"]


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
    domain:       ascii label just left of the suffix ("xn--vito-43d")
    subdomain:    ascii labels left of ``domain`` ("" when none)
    ip:           the address for IP literals, else None
    ip_form:      how the IP was written: "dotted", "short" (127.1), "decimal", "hex", "octal",
                  "mixed", "ipv6"; None for names
    scripts:      scripts of the letters in the unicode form, e.g. frozenset({"Latin", "Cyrillic"})
    obfuscation:  what was removed or folded to get ``ascii``, in order of first occurrence; values:
                  "zero_width", "bidi", "fullwidth", "ideographic_dot", "trailing_dot",
                  "percent_encoded", "uppercase"
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
        ...


def parse_host(raw: str) -> HostInfo | None:
    """Normalize one host; None when it is not a valid host name or IP literal."""
    raise NotImplementedError


def split_registered(ascii_host: str) -> tuple[str, str, str]:
    """(subdomain, domain, suffix) of an ASCII host via the offline tldextract; cached."""
    raise NotImplementedError
