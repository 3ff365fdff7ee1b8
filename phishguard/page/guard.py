"""Address checks for the page fetcher: only public unicast addresses, only http(s), only allowed ports.

The fetcher asks two questions, both answered here without any network access:

* :meth:`AddressGuard.check_url` — before every request (the first one and each redirect hop): the
  scheme, credentials, port and the *literal* host of the URL. IP literals never reach a resolver, so
  a host written as ``2130706433``, ``0x7f.1``, ``127。0。0。1`` or ``[::ffff:127.0.0.1]`` is judged here,
  through :func:`phishguard.hosts.parse_host` (the WHATWG IPv4 forms), and names such as ``localhost``
  are refused before any DNS query.
* :meth:`AddressGuard.check_ip` — for every address DNS returns (the fetcher's resolver keeps only the
  addresses that pass, and connects to those: the check and the connection use the same answer).

IPv6 addresses that carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16``, Teredo) are unwrapped and the embedded address is judged too: ``ipaddress`` calls
``64:ff9b::7f00:1`` global although it reaches 127.0.0.1 through a NAT64 gateway.

>>> g = AddressGuard()
>>> g.check_url("http://2130706433/")
'address 127.0.0.1 is loopback'
>>> g.check_url("http://[64:ff9b::a00:1]/")
'address 64:ff9b::a00:1 (NAT64 of 10.0.0.1) is private'
>>> g.check_url("https://example.com/pay") is None, g.check_url("ftp://example.com/")
(True, "scheme 'ftp' is not allowed (http, https only)")
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from yarl import URL

from ..hosts import parse_host

__all__ = ["AddressGuard", "IPAddress", "embedded_ipv4", "ip_problem"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215 local-use translation prefix
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_COMPAT = ipaddress.IPv6Network("::/96")  # deprecated IPv4-compatible addresses
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
#: Ranges ``ipaddress`` calls global that no web page lives on.
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.0.0/24", "192.88.99.0/24", "198.18.0.0/15", "fec0::/10", "100::/64", "2001:db8::/32")
)
#: Host names (and their subdomains) that only mean something inside a network.
_INTERNAL_SUFFIXES = ("localhost", "localdomain", "local", "internal", "intranet", "lan", "home.arpa", "corp")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """IPv4 addresses an IPv6 address carries, with the name of the wrapping.

    >>> embedded_ipv4(ipaddress.IPv6Address("::ffff:127.0.0.1"))
    [('IPv4-mapped', IPv4Address('127.0.0.1'))]
    >>> embedded_ipv4(ipaddress.IPv6Address("2002:c0a8:101::1"))
    [('6to4', IPv4Address('192.168.1.1'))]
    """
    out: list[tuple[str, ipaddress.IPv4Address]] = []
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        out.append(("IPv4-mapped", ip.ipv4_mapped))
    elif ip in _NAT64:
        out.append(("NAT64", low32))
    elif ip in _COMPAT and int(ip) > 1:
        out.append(("IPv4-compatible", low32))
    if ip.sixtofour is not None:
        out.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        out.extend((("Teredo server", server), ("Teredo client", client)))
    return out


def _class_of(ip: IPAddress) -> str | None:
    """Why one (unwrapped) address is not public unicast, or None when it is."""
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "shared (CGNAT)"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64_LOCAL:
        return "local NAT64"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version):
        return "reserved"
    if not ip.is_global:
        return "not global"
    return None


def ip_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be fetched from, or None for a public unicast address.

    >>> ip_problem(ipaddress.ip_address("100.64.1.2")), ip_problem(ipaddress.ip_address("224.0.0.251"))
    ('address 100.64.1.2 is shared (CGNAT)', 'address 224.0.0.251 is multicast')
    >>> ip_problem(ipaddress.ip_address("93.184.216.34")) is None
    True
    """
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return f"address {ip} has a zone index"
        for how, inner in embedded_ipv4(ip):
            cls = _class_of(inner)
            if cls is not None:
                return f"address {ip} ({how} of {inner}) is {cls}"
        if ip in _NAT64:  # 64:ff9b::/96 is "reserved" for ipaddress; judged by its IPv4 address above
            return None
    cls = _class_of(ip)
    return f"address {ip} is {cls}" if cls is not None else None


def _networks(specs: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(s, strict=False) for s in specs)


@dataclass(frozen=True)
class AddressGuard:
    """The fetcher's address policy.

    allowed_ports:  ports a URL may name (80 and 443 unless configured)
    allow_networks: internal networks admitted anyway — for tests only; empty by default, so every
                    loopback, private, link-local, CGNAT, multicast and reserved address is refused
    """

    allowed_ports: frozenset[int] = frozenset({80, 443})
    allow_networks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allowed", _networks(self.allow_networks))

    def _admitted(self, ip: IPAddress) -> bool:
        allowed = self._allowed  # type: ignore[attr-defined]
        return any(ip.version == net.version and ip in net for net in allowed)

    def check_ip(self, ip: IPAddress) -> str | None:
        """Why ``ip`` is refused, or None (public unicast, or inside ``allow_networks``)."""
        if self._admitted(ip):
            return None
        return ip_problem(ip)

    def check_name(self, ascii_name: str) -> str | None:
        """Refuse names that only exist inside a network (``localhost``, single labels, ``.internal`` ...).

        >>> AddressGuard().check_name("api.localhost"), AddressGuard().check_name("metadata")
        ("name 'api.localhost' is internal", "name 'metadata' is a single label (an intranet name)")
        """
        name = ascii_name.lower().rstrip(".")
        if "." not in name:
            return f"name {name!r} is a single label (an intranet name)"
        for suffix in _INTERNAL_SUFFIXES:
            if name == suffix or name.endswith("." + suffix):
                return f"name {name!r} is internal"
        return None

    def check_url(self, url: str | URL) -> str | None:
        """Why this URL may not be requested (checked again on every redirect hop), or None."""
        try:
            u = url if isinstance(url, URL) else URL(url)
        except (ValueError, TypeError) as exc:
            return f"invalid URL: {exc}"
        scheme = (u.scheme or "").lower()
        if scheme not in ("http", "https"):
            return f"scheme {scheme!r} is not allowed (http, https only)"
        if u.raw_user is not None or u.raw_password is not None:
            return "URL carries credentials (user@host)"
        raw = u.raw_host
        if not raw:
            return "URL has no host"
        try:
            port = u.port
        except ValueError:
            return "invalid port"
        if port is None or port not in self.allowed_ports:
            return f"port {port} is not allowed ({', '.join(map(str, sorted(self.allowed_ports)))})"
        host = parse_host(raw.strip("[]") if ":" in raw else raw)
        if host is None:
            return f"host {raw!r} is not a valid host name or address"
        if host.ip is not None:
            return self.check_ip(host.ip)
        return self.check_name(host.ascii)
