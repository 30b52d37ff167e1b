"""Balancer.follow: the membership task applies the reconciler's decisions as discovery changes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from millionscale.discovery import Member, StaticDiscovery
from millionscale.lb import Balancer, State


def web(name: str, health: str = "ready") -> Member:
    return Member(name, "web", "127.0.0.1", {"main": 8000 + int(name[-1])}, health=health)  # type: ignore[arg-type]


async def until(condition: Callable[[], bool], steps: int = 500) -> None:
    """Yield to the loop until ``condition()`` holds (at most ``steps`` times 10 ms)."""
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached in time")


def test_the_first_members_serve_at_once_and_changes_are_followed_without_a_restart():
    async def scenario() -> list[object]:
        discovery = StaticDiscovery.of([web("web-1"), web("web-2"), web("web-3", "starting")])
        balancer = Balancer()
        seen: list[object] = []
        await balancer.follow(discovery, "web")
        seen.append({n: b.health.serving for n, b in balancer.backends.items()})

        discovery.update([web("web-1"), web("web-2"), web("web-3")])
        await until(lambda: "web-3" in balancer.backends)
        seen.append(balancer.backends["web-3"].health.state)

        discovery.update([web("web-2", "stopping"), web("web-3")])
        await until(lambda: set(balancer.backends) == {"web-3"})
        seen.append(sorted(balancer.backends))
        await balancer.stop()
        return seen

    first, added, last = asyncio.run(scenario())

    assert first == {"web-1": True, "web-2": True}
    assert added is State.DOWN  # a later member proves itself by its checks first
    assert last == ["web-3"]


def test_an_operator_removal_stands_while_the_member_stays():
    async def scenario() -> set[str]:
        discovery = StaticDiscovery.of([web("web-1"), web("web-2")])
        balancer = Balancer()
        await balancer.follow(discovery, "web")
        balancer.remove("web-1")
        discovery.update([web("web-1"), web("web-2"), web("web-3")])
        await until(lambda: "web-3" in balancer.backends)
        await balancer.stop()
        return set(balancer.backends)

    assert asyncio.run(scenario()) == {"web-2", "web-3"}


def test_a_check_that_ends_after_its_backend_was_removed_and_added_again_is_dropped():
    async def scenario() -> tuple[object, object]:
        balancer = Balancer()
        balancer.add("web-1", "127.0.0.1", 9, initial=True)  # discard: refused at once
        old = balancer.backends["web-1"]
        balancer.remove("web-1")
        balancer.add("web-1", "127.0.0.1", 9)
        before = (old.health.statistics(), balancer.backends["web-1"].health.statistics())
        await balancer._health.check(old)  # the old record's check lands on no current backend
        return before, (old.health.statistics(), balancer.backends["web-1"].health.statistics())

    before, after = asyncio.run(scenario())

    assert after == before  # neither record counted the stale check
