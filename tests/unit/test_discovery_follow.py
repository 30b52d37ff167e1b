"""discovery.follow: the newest view as it changes, again every period, and kept through outages."""

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from millionscale.discovery import Member, Snapshot, StaticDiscovery, follow
from millionscale.errors import DiscoveryError

WEB = Member("web-1", "web", "127.0.0.1", {"main": 8000})


def run(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def sync(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return sync


async def _take(source: AsyncIterator[Snapshot], count: int) -> list[Snapshot]:
    seen = []
    async with asyncio.timeout(5):
        async for snapshot in source:
            seen.append(snapshot)
            if len(seen) == count:
                break
    return seen


@run
async def test_a_change_is_yielded_at_once_not_after_the_period():
    static = StaticDiscovery.of([])
    first = await static.snapshot()
    source = follow(static, first, every_s=60)
    static.update([WEB])
    async with asyncio.timeout(1):  # far less than the 60 s period
        newer = await anext(source)
    assert newer.version == 2
    assert newer.member("web-1") == WEB
    await source.aclose()


@run
async def test_with_no_change_the_same_view_comes_again_every_period():
    static = StaticDiscovery.of([WEB])
    first = await static.snapshot()
    seen = await _take(follow(static, first, every_s=0.05), 3)
    assert [s.version for s in seen] == [1, 1, 1]


class _Flaky:
    """A source whose watch fails twice before it gives a newer view."""

    def __init__(self) -> None:
        self.failures = 0

    async def snapshot(self) -> Snapshot:
        return Snapshot(1)

    async def watch(self, after: int | None = None) -> AsyncIterator[Snapshot]:
        if self.failures < 2:
            self.failures += 1
            raise DiscoveryError("the supervisor does not answer")
        yield Snapshot(2, (WEB,))


@run
async def test_an_unreachable_source_keeps_the_last_view_then_recovers():
    flaky = _Flaky()
    seen = await _take(follow(flaky, Snapshot(1), every_s=0.02), 10)
    assert seen[0].version == 1  # the last view, while the source fails
    assert seen[-1].version == 2  # and the newer one once it answers
    assert flaky.failures == 2


@run
async def test_a_closed_source_leaves_its_last_view_standing():
    class Closed:
        async def snapshot(self) -> Snapshot:
            return Snapshot(3)

        async def watch(self, after: int | None = None) -> AsyncIterator[Snapshot]:
            return
            yield  # pragma: no cover

    seen = await _take(follow(Closed(), Snapshot(3), every_s=0.02), 3)
    assert [s.version for s in seen] == [3, 3, 3]


@pytest.mark.parametrize("every_s", [0, -1])
@run
async def test_a_period_that_is_not_positive_is_refused(every_s):
    with pytest.raises(ValueError, match="every_s"):
        await anext(follow(StaticDiscovery.of([]), Snapshot(1), every_s=every_s))
