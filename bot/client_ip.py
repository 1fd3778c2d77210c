"""The client's IP for rate limits, behind a reverse proxy or not.

Behind the proxy the docs describe, every connection comes from the proxy, so
per-IP limits would be one limit for everybody: one guesser would lock every
member out. With ``HELPLINE_TRUSTED_PROXIES`` (addresses or networks of our own
proxies), the address is taken from ``X-Forwarded-For``: the right-most entry
that is not one of our proxies, i.e. the one our proxy saw. Entries further
left are whatever the client wrote and are never believed.

The result is used in memory (and as a keyed hash) only: never logged or stored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_proxies(value: str) -> list[Network]:
    """``"127.0.0.1, 10.0.0.0/8"`` → networks; raises ValueError naming the bad entry."""
    networks: list[Network] = []
    for item in value.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {item!r}") from None
    return networks


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_ip(request: web.Request, proxies: Sequence[Network] = ()) -> str:
    remote = request.remote or "?"
    if not proxies or not _trusted(remote, proxies):
        return remote
    forwarded = [a.strip() for a in request.headers.getall("X-Forwarded-For", [])]
    chain = [a for header in forwarded for a in header.split(",") if a.strip()]
    for address in reversed(chain):
        address = address.strip()
        if not _trusted(address, proxies):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return remote
    return remote


def is_https(
    request: web.Request, proxies: Sequence[Network] = (), public_url: str | None = None
) -> bool:
    """Whether she reached us over https: directly, through one of our proxies
    that says so (``X-Forwarded-Proto``, believed only from a trusted proxy),
    or because the operator says the public address is https. Cookies are then
    ``Secure`` and HSTS is sent."""
    if request.secure or (public_url or "").startswith("https://"):
        return True
    if proxies and _trusted(request.remote or "", proxies):
        proto = request.headers.get("X-Forwarded-Proto", "")
        return proto.split(",")[0].strip().lower() == "https"
    return False


#: One year, subdomains left alone (a partner's site may share the domain).
HSTS = "max-age=31536000"
