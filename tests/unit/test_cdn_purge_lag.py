"""A purge's lag: from its issue to the last acknowledgement, on the purger's clock."""

import asyncio

from purge_factories import Edges, answer, member, purger

from millionscale.cdn.purge import AdminAddress, Purge
from millionscale.testing import FakeClock


class SlowEdges(Edges):
    """Each edge's answer comes ``delays[name]`` seconds after it is asked, on ``clock``."""

    def __init__(self, clock: FakeClock, delays: dict[str, float]) -> None:
        super().__init__({name: [answer(200)] for name in delays})
        self.clock, self.delays = clock, delays

    async def __call__(self, edge: AdminAddress):
        self.clock.jump(self.delays[edge.name])
        return await super().__call__(edge)


def test_the_lag_is_the_slowest_edge_on_the_injected_clock():
    clock = FakeClock()
    edges = SlowEdges(clock, {"edge-1": 0.010, "edge-2": 0.030})

    result = asyncio.run(
        purger(edges, member("edge-1"), member("edge-2"), clock=clock).purge(Purge.tag("t"))
    )

    assert [round(r.elapsed_s, 3) for r in result.edges] == [0.010, 0.040]
    assert round(result.lag_s or 0, 3) == 0.040
