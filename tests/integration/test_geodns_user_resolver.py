"""A simulated user's resolver against a real server: it asks with the user's subnet,
keeps the answer for its TTL, asks again after it, and keeps the last answer (and
counts the failure) when the server does not answer."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

from millionscale.geodns import Authority
from millionscale.geodns.client import UserResolver
from millionscale.geodns.geoip import open_locator
from millionscale.geodns.server import DnsServer
from millionscale.geodns.zone import load_zone

STAGE = Path(__file__).parents[2] / "topologies" / "multi-dc"
PLACED = {"us-east": {"addresses": ["10.0.0.1"]}, "eu-west": {"addresses": ["10.0.0.2"]}}


def test_a_users_resolver_caches_for_the_ttl_and_serves_stale_when_the_server_is_gone():
    now = [0.0]

    async def run() -> None:
        zone = load_zone(STAGE / "photos.zone.toml", PLACED)
        server = DnsServer(Authority(zone, open_locator(STAGE / "users.toml")))
        await server.start()
        paris = UserResolver(
            server.host,
            server.port,
            ipaddress.ip_address("198.18.1.7"),
            "www.photos.test",
            timeout_s=0.3,
            clock=lambda: now[0],
        )
        new_york = UserResolver(
            server.host, server.port, ipaddress.ip_address("198.18.0.7"), "www.photos.test"
        )
        try:
            assert await paris.address() == "10.0.0.2"  # the nearest: eu-west
            assert await new_york.address() == "10.0.0.1"
            now[0] = 9.9
            assert await paris.address() == "10.0.0.2"
            assert paris.asked == 1  # within the TTL (10 s): from the cache
            now[0] = 10.0
            assert await paris.address() == "10.0.0.2"
            assert paris.asked == 2
        finally:
            await server.close()
        now[0] = 20.0
        assert await paris.address() == "10.0.0.2"  # the server gone: the last answer
        assert (paris.asked, paris.failures) == (3, 1)

    asyncio.run(run())
