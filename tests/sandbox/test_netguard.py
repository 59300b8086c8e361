"""The address policy behind the http resource. No test sends traffic beyond loopback: names
resolve from a table and only loopback addresses are really connected to (LoopbackOnly)."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from vumigo.sandbox.netguard import AddressPolicy, is_public
from vumigo.sandbox.protocol import ProtocolHandler
from vumigo.sandbox.resources import ResourceRegistry
from vumigo.sandbox.resources.http import HttpResource, HttpSettings

from .helpers import FixtureServer, LoopbackOnly, Route, make_run


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.10",
        "127.0.0.1",
        "127.8.8.8",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:a00:1::1",
        "64:ff9b::a9fe:a9fe",
        "2001::1",
        "2001:db8::1",
        "fec0::1",
    ],
)
def test_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_allow_list_networks_and_hosts() -> None:
    policy = AddressPolicy.from_allow_list(["10.1.0.0/16", "api.internal", ".corp", " "])
    assert policy.address_allowed(ipaddress.ip_address("10.1.2.3"))
    assert not policy.address_allowed(ipaddress.ip_address("10.2.0.1"))
    assert policy.host_allowed("API.internal.") and not policy.host_allowed("x.api.internal")
    assert policy.host_allowed("svc.corp") and not policy.host_allowed("corp")


NAMES = {
    "evil.example": ["10.0.0.5"],
    "metadata.example": ["169.254.169.254"],
    "home.example": ["192.168.1.1"],
    "mixed.example": ["93.184.216.34", "10.0.0.5"],
    "public.example": ["93.184.216.34"],
    "internal.example": ["10.9.9.9"],
}

Make = Callable[..., tuple[ProtocolHandler, LoopbackOnly]]


@pytest.fixture
async def make_http() -> AsyncIterator[Make]:
    made: list[HttpResource] = []

    def make(allow: tuple[str, ...] = (), **settings: Any) -> tuple[ProtocolHandler, LoopbackOnly]:
        net = LoopbackOnly(NAMES)
        resource = HttpResource(
            HttpSettings(allow=allow, **settings), resolver=net.resolve, connector=net.connect
        )
        made.append(resource)
        return ProtocolHandler(ResourceRegistry([resource])), net

    yield make
    for resource in made:
        await resource.aclose()


async def get(handler: ProtocolHandler, url: str, cmd: str = "http.get") -> dict[str, Any]:
    reply = await handler.dispatch({"cmd": cmd, "cmd_id": "1", "url": url}, make_run())
    assert reply is not None
    return reply


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/",
        "http://192.168.1.10:8080/admin",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00::1]/",
        "http://0.0.0.0:80/",
        "https://10.0.0.5/",
        "http://evil.example/",
        "http://metadata.example/latest/meta-data/",
        "http://home.example:8080/",
        "http://mixed.example/",
    ],
)
async def test_private_destinations_are_refused(make_http: Make, url: str) -> None:
    handler, net = make_http()
    reply = await get(handler, url)
    assert reply["success"] is False
    assert "is not allowed" in reply["reason"]
    assert net.connected == []  # refused before any connection attempt


async def test_loopback_refused_without_allow_list(
    make_http: Make, fixture_server: FixtureServer
) -> None:
    handler, net = make_http()
    fixture_server.routes["GET", "/"] = Route(200, b"secret")
    reply = await get(handler, fixture_server.url("/"))
    assert reply["success"] is False and "127.0.0.1" in reply["reason"]
    assert net.connected == [] and fixture_server.requests == []


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/",
        "http://metadata.example/",
        "http://[::1]:1/",
    ],
)
async def test_redirect_to_private_is_refused(
    make_http: Make, fixture_server: FixtureServer, target: str
) -> None:
    handler, net = make_http(allow=("127.0.0.1/32",))
    fixture_server.routes["GET", "/go"] = Route(302, headers={"Location": target})
    reply = await get(handler, fixture_server.url("/go"))
    assert reply["success"] is False and "is not allowed" in reply["reason"]
    assert [address for address, _ in net.connected] == ["127.0.0.1"]
    assert net.off_machine == []


async def test_public_address_passes_the_guard(make_http: Make) -> None:
    handler, net = make_http()
    reply = await get(handler, "http://public.example/")
    # The guard let it through; the test connector then refused to really connect.
    assert net.connected == [("93.184.216.34", 80)]
    assert reply["success"] is False and "test connector refuses" in reply["reason"]


@pytest.mark.parametrize(
    ("allow", "url", "address"),
    [
        (("10.0.0.0/8",), "http://internal.example/", "10.9.9.9"),
        (("internal.example",), "http://internal.example/", "10.9.9.9"),
        (("192.168.0.0/16",), "http://192.168.1.7:8000/", "192.168.1.7"),
    ],
)
async def test_operator_allow_list(make_http: Make, allow: Any, url: str, address: str) -> None:
    handler, net = make_http(allow=allow)
    reply = await get(handler, url)
    assert [a for a, _ in net.connected] == [address]
    assert "test connector refuses" in reply["reason"]


async def test_unresolvable_host(make_http: Make) -> None:
    handler, net = make_http()
    reply = await get(handler, "http://nowhere.example/")
    assert reply["success"] is False and "Could not resolve host" in reply["reason"]
    assert net.connected == []
