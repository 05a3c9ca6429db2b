"""Where the service may connect when a merchant chose the address (Ordergroove endpoints, the SFTP host).

A console setting must not turn the server into a proxy onto its own network (the cloud metadata service, the
Redis next to it, an admin port on loopback). Two settings say what is allowed:

- ``OUTBOUND_ALLOWED_ADDRESSES``: ``"public"`` (production: globally routable unicast addresses only),
  ``"public+loopback"`` (development and the sandbox, whose fakes listen on 127.0.0.1) or ``"loopback"`` (the
  tests: nothing off this machine is ever reached, whatever a test or a fuzzer types in).
- ``OUTBOUND_HTTPS_ONLY``: refuse ``http://`` (production).

The rule is applied twice: when the setting is saved (``outbound_url_check`` / ``outbound_host_check``, so the
merchant gets a field error) and at connect time on the address actually connected to, after DNS resolution
(``checked_adapter`` for HTTP, ``outbound_connect`` for SFTP). Checking the name at save time alone would let DNS
rebinding through: the name resolves to a public address when saved and to 127.0.0.1 when used.

The HTTP side uses requests-hardened's adapter (maintained by Saleor for exactly this): it resolves the host
once, pins the connection to that address and keeps the name for the Host header, SNI and certificate checks;
the address it pinned is then checked here against the policy above.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests_hardened.ip_filter_adapter import IPFilterAdapter

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
POLICIES = ("public", "public+loopback", "loopback")


class OutboundRefused(requests.RequestException):
    """The address is not one the policy allows; the message says why in the merchant's terms."""


def _policy() -> str:
    policy = getattr(settings, "OUTBOUND_ALLOWED_ADDRESSES", "public")
    if policy not in POLICIES:
        raise ValueError(f"OUTBOUND_ALLOWED_ADDRESSES must be one of {', '.join(POLICIES)}, not {policy!r}")
    return policy


def address_allowed(address: IPAddress) -> bool:
    """Loopback only where the policy names it; otherwise a global unicast address (``is_global`` excludes the
    private, shared/CGNAT, link-local, reserved and documentation ranges)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    policy = _policy()
    if address.is_loopback:
        return policy != "public"
    return policy != "loopback" and address.is_global and not address.is_multicast


def _resolve(host: str, port: int, *, unresolvable_ok: bool) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        if unresolvable_ok:
            return []
        raise OutboundRefused(f"{host} does not resolve to an address") from exc
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def outbound_host_check(host: str, port: int, *, unresolvable_ok: bool = False) -> list[IPAddress]:
    """Every address the name resolves to must be allowed (a name with one private address among public ones
    is refused: which one a connection gets is not ours to choose). Returns them, in resolver order.

    ``unresolvable_ok`` (the save-time check): a name that does not resolve now is not refused, as DNS may be
    down or the record not yet published; the connect-time check resolves it again and decides then."""
    addresses = _resolve(host, port, unresolvable_ok=unresolvable_ok)
    refused = [a for a in addresses if not address_allowed(a)]
    if refused:
        where = "this machine" if refused[0].is_loopback else "a private or reserved network"
        raise OutboundRefused(f"{host} resolves to {refused[0]}, an address on {where}: only public Internet "
                              "addresses can be used.")
    return addresses


def outbound_scheme_check(url: str) -> None:
    parts = urlsplit(url)
    if getattr(settings, "OUTBOUND_HTTPS_ONLY", True) and parts.scheme != "https":
        raise OutboundRefused("Use https://: plain http is not allowed.")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("Enter a full https:// URL.")


def outbound_url_check(url: str) -> None:
    """The scheme and the host of a merchant-entered URL, resolved now (the save-time check)."""
    outbound_scheme_check(url)
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise OutboundRefused("The port is not a number from 1 to 65535.") from exc
    outbound_host_check(parts.hostname, port, unresolvable_ok=True)


def outbound_connect(host: str, port: int, *, timeout: float) -> socket.socket:
    """A TCP connection to the first allowed address the name resolves to right now: the address checked is
    the address connected to. Raises OutboundRefused or OSError."""
    last_error: OSError | None = None
    for address in outbound_host_check(host, port):
        try:
            return socket.create_connection((str(address), port), timeout=timeout)
        except OSError as exc:
            last_error = exc
    raise last_error or OSError(f"{host} has no address")


class CheckedAdapter(IPFilterAdapter):
    """requests-hardened's pinning adapter, with the address it pinned checked against OUTBOUND_ALLOWED_ADDRESSES
    (its own filter knows only "public" and "public and loopback")."""

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pinned = ipaddress.ip_address(host_params["host"].strip("[]"))
        if not address_allowed(pinned):
            raise OutboundRefused(f"{urlsplit(request.url).hostname} resolves to {pinned}, which is not an address "
                                  "the service may connect to.")
        return host_params, pool_kwargs


def checked_adapters() -> dict[str, CheckedAdapter]:
    """Adapters to mount on a session for merchant-entered URLs (one per scheme: TLS needs its own). The
    library's own filter lets loopback through; whether loopback is allowed is decided per connection by
    ``address_allowed``, which reads the setting then (a session outlives a change of the setting in tests)."""
    return {"https://": CheckedAdapter(is_https_proto=True, allow_loopback=True),
            "http://": CheckedAdapter(is_https_proto=False, allow_loopback=True)}
