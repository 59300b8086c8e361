"""Where the ``http`` resource may connect: public addresses, plus what an operator allows.

The check sits in the connection step, below httpx, so it sees every connection httpx makes:
the first request, each redirect, and a host that only resolves to a private address. A host
name is resolved once, every address it resolves to must pass, and the connection goes to a
vetted address (so a second, different DNS answer cannot slip in between check and connect).
TLS still verifies the certificate against the host name.

Refused unless allow-listed: loopback, private (RFC 1918, ULA), link-local (including the
169.254.169.254 metadata service), carrier-grade NAT, multicast, reserved, unspecified and
documentation ranges, and IPv6 forms that embed such an IPv4 address (mapped, 6to4, NAT64).

Name resolution and the socket connect are injectable so tests can replace both and never send
traffic off the machine.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SocketOptions = Iterable[httpcore.SOCKET_OPTION] | None

#: ``(host, port) -> addresses`` as strings.
Resolver = Callable[[str, int], Awaitable[list[str]]]
#: ``(address, port, timeout, socket_options) -> stream``: the step that opens a socket.
Connector = Callable[
    [str, int, float | None, SocketOptions], Awaitable[httpcore.AsyncNetworkStream]
]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class DestinationNotAllowed(Exception):
    """The request would connect to an address the policy refuses."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Whether an address is on the public internet (and so fine for apps to reach)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.teredo is not None:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
        if address.is_site_local:
            return False
    # is_global alone lets multicast through, so every category is checked.
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus operator-allowed networks and host names. A host name entry
    ``example.org`` allows exactly that name; ``.example.org`` allows its subdomains too."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def from_allow_list(cls, entries: Iterable[str]) -> AddressPolicy:
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if host in self.hosts:
            return True
        return any(entry.startswith(".") and host.endswith(entry) for entry in self.hosts)

    def address_allowed(self, address: IPAddress) -> bool:
        if any(address in network for network in self.networks):
            return True
        return is_public(address)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def direct_connector(
    address: str, port: int, timeout: float | None, socket_options: SocketOptions
) -> httpcore.AsyncNetworkStream:
    return await httpcore.AnyIOBackend().connect_tcp(
        address, port, timeout=timeout, socket_options=socket_options
    )


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that vets every destination before connecting."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = system_resolver,
        connector: Connector = direct_connector,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.connector = connector

    async def vet(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``, or :class:`DestinationNotAllowed`."""
        literal = _literal(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = await self.resolver(host, port)
            except OSError as exc:
                raise httpcore.ConnectError(f"Could not resolve host {host!r}: {exc}") from exc
            if not addresses:
                raise httpcore.ConnectError(f"Could not resolve host {host!r}")
        if self.policy.host_allowed(host):
            return addresses
        for address in addresses:
            parsed = _literal(address)
            if parsed is None or not self.policy.address_allowed(parsed):
                raise DestinationNotAllowed(
                    f"Destination {host} ({address}) is not allowed: private, loopback, "
                    "link-local and reserved addresses are blocked"
                )
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.vet(host, port)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.connector(address, port, timeout, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: SocketOptions = None
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationNotAllowed("Unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@functools.cache
def _ssl_context(verify: bool) -> ssl.SSLContext:
    # Loading the CA bundle takes ~50 ms; one context serves every client.
    return httpx.create_ssl_context(verify=verify, trust_env=False)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the connection pool built on :class:`GuardedBackend`."""

    def __init__(self, backend: GuardedBackend, *, verify: bool = True) -> None:
        context = _ssl_context(verify)
        super().__init__(verify=context, trust_env=False)
        # The parent's pool has no way to take a network backend; replace it before first use.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=backend,
        )
