"""A process retired alone drains; when the whole topology stops, none drains.

The drain gives a balancer time to stop sending to a process that goes away
(millionscale.web.shutdown); when everything stops, the balancer stops too and
nobody is left to notice, so the whole stop skips it.
"""

from factories import bring_up, plan, supervision

from millionscale.testing import FakeClock
from millionscale.topology.supervision import Terminate


def _running(clock: FakeClock):
    core = supervision(clock, db=plan(), **{"web-1": plan("db"), "web-2": plan("db")})
    bring_up(core, {"db": 1, "web-1": 2, "web-2": 3})
    return core


def test_a_retired_process_is_told_to_drain():
    core = _running(FakeClock())

    core.retire("web-1", drain_s=0.0)

    assert core.step() == [Terminate("web-1", drain=True)]


def test_a_whole_stop_tells_every_process_to_stop_without_draining():
    core = _running(FakeClock())

    core.request_stop()

    assert core.step() == [Terminate("web-2", drain=False), Terminate("web-1", drain=False)]
