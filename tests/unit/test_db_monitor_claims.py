"""The monitor's db/primary claim: made with its first record, and made again every
round while the registry does not take it (a supervisor starts nodes by it)."""

import asyncio
import socket
from pathlib import Path

from millionscale.db.cluster import PRIMARY_ROLE, Cluster, Node
from millionscale.db.monitor import Monitor
from millionscale.discovery import RoleClaim
from millionscale.errors import DiscoveryError


class FlakyRegistry:
    """Does not answer the first ``failures`` claims, then takes every one."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.claims: list[tuple[str, str, int]] = []

    async def claim(self, role: str, holder: str, epoch: int) -> RoleClaim:
        if self.failures:
            self.failures -= 1
            raise DiscoveryError("the supervisor's control endpoint does not answer")
        self.claims.append((role, holder, epoch))
        return RoleClaim(holder, epoch)


class NoFencing:
    async def fence(self, node: str) -> str:
        raise AssertionError(f"nothing is fenced here ({node})")

    async def shut_down(self, node: str, within_s: float) -> str | None:
        raise AssertionError(f"nothing is shut down here ({node})")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _monitor(tmp_path: Path, registry: FlakyRegistry) -> Monitor:
    nodes = {name: Node(name, "127.0.0.1", _closed_port()) for name in ("db", "db-r1")}
    return Monitor(
        Cluster("db", nodes), tmp_path / "db-cluster.json", NoFencing(), registry=registry
    )


def test_a_claim_that_did_not_land_is_made_again_next_round(tmp_path: Path):
    registry = FlakyRegistry(failures=2)
    monitor = _monitor(tmp_path, registry)

    async def rounds() -> None:
        for _ in range(4):  # the nodes refuse connections: no failover is due this soon
            await monitor.step()

    asyncio.run(rounds())

    assert (tmp_path / "db-cluster.json").exists()  # the record is written first, regardless
    assert registry.claims == [(PRIMARY_ROLE, "db", 1)]  # the third try landed, then no more


def test_a_claim_that_landed_is_not_made_again(tmp_path: Path):
    registry = FlakyRegistry(failures=0)
    monitor = _monitor(tmp_path, registry)

    async def rounds() -> None:
        for _ in range(3):
            await monitor.step()

    asyncio.run(rounds())

    assert registry.claims == [(PRIMARY_ROLE, "db", 1)]
