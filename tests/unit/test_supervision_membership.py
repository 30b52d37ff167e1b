"""Processes join and leave a running topology: add starts one, retire drains then drops it."""

import pytest
from factories import bring_up, plan, supervision

from millionscale.errors import MembershipError, UnknownProcessError
from millionscale.testing import FakeClock
from millionscale.topology.lifecycle import Phase
from millionscale.topology.supervision import Kill, Probe, Spawn, Terminate


def _running(clock: FakeClock):
    """db <- web-1, both ready (pids 1, 2)."""
    core = supervision(clock, db=plan(), **{"web-1": plan("db")})
    bring_up(core, {"db": 1, "web-1": 2})
    core.journal.clear()
    return core


def test_an_added_process_is_started_and_probed_like_the_others():
    core = _running(FakeClock())

    core.add("web-2", plan("db"))

    assert core.step() == [Spawn("web-2")]
    core.spawned("web-2", 3)
    assert core.step() == [Probe("web-2")]
    core.probed("web-2", ok=True)
    assert core.phase("web-2") is Phase.READY
    assert [s.name for s in core.status()] == ["db", "web-1", "web-2"]
    assert core.journal[0] == "web-2: added"


def test_an_added_process_waits_for_a_dependency_that_is_not_ready():
    clock = FakeClock()
    core = supervision(clock, db=plan())
    assert core.step() == [Spawn("db")]
    core.spawned("db", 1)

    core.add("web-1", plan("db"))

    assert Spawn("web-1") not in core.step()
    assert core.phase("web-1") is Phase.PENDING


def test_adding_a_taken_name_or_an_unknown_dependency_is_refused_and_changes_nothing():
    core = _running(FakeClock())

    with pytest.raises(MembershipError, match="web-1 already runs"):
        core.add("web-1", plan("db"))
    with pytest.raises(UnknownProcessError, match="depends on cache"):
        core.add("web-2", plan("cache"))
    assert [s.name for s in core.status()] == ["db", "web-1"]


def test_a_retired_process_is_drained_then_stopped_then_dropped():
    clock = FakeClock()
    core = _running(clock)

    core.retire("web-1", drain_s=5.0)

    web = next(s for s in core.status() if s.name == "web-1")
    assert web.draining
    assert web.phase is Phase.READY
    assert core.step() == []
    assert core.next_deadline() == clock.now() + 5.0
    clock.jump(5.0)
    assert core.step() == [Terminate("web-1")]
    core.exited("web-1", -15)
    assert core.step() == []
    assert [s.name for s in core.status()] == ["db"]
    assert core.gone == ["web-1"]
    assert core.journal[-1] == "web-1: removed"


def test_a_retired_process_that_ignores_its_signal_is_killed_after_its_stop_timeout():
    clock = FakeClock()
    core = supervision(clock, db=plan(), **{"web-1": plan("db", stop_timeout_s=2.0)})
    bring_up(core, {"db": 1, "web-1": 2})

    core.retire("web-1", drain_s=0.0)
    assert core.step() == [Terminate("web-1")]
    clock.jump(2.0)

    assert core.step() == [Kill("web-1")]


def test_a_retired_process_that_crashes_while_draining_is_not_restarted():
    clock = FakeClock()
    core = _running(clock)
    core.retire("web-1", drain_s=5.0)

    core.exited("web-1", 1)
    clock.jump(60.0)

    assert core.step() == []
    assert core.gone == ["web-1"]


def test_a_process_others_depend_on_cannot_be_retired():
    core = _running(FakeClock())

    with pytest.raises(MembershipError, match="web-1 depends on it"):
        core.retire("db", drain_s=1.0)
    with pytest.raises(UnknownProcessError, match="no process named web-9"):
        core.retire("web-9", drain_s=1.0)
    core.retire("web-1", drain_s=1.0)
    with pytest.raises(MembershipError, match="already being removed"):
        core.retire("web-1", drain_s=1.0)


def test_a_process_cannot_depend_on_one_being_removed():
    core = _running(FakeClock())
    core.retire("web-1", drain_s=1.0)

    with pytest.raises(MembershipError, match="being removed"):
        core.add("web-2", plan("web-1"))


def test_nothing_joins_or_leaves_once_stop_is_requested():
    core = _running(FakeClock())
    core.request_stop()

    with pytest.raises(MembershipError, match="stopping"):
        core.add("web-2", plan("db"))
    with pytest.raises(MembershipError, match="stopping"):
        core.retire("web-1", drain_s=1.0)


def test_once_its_dependents_are_gone_a_dependency_can_be_retired():
    clock = FakeClock()
    core = _running(clock)
    core.retire("web-1", drain_s=0.0)
    core.step()
    core.exited("web-1", 0)
    core.step()

    core.retire("db", drain_s=0.0)

    assert core.step() == [Terminate("db")]


def test_checking_a_retirement_refuses_as_retire_would_and_changes_nothing():
    core = _running(FakeClock())

    with pytest.raises(MembershipError, match="web-1 depends on it"):
        core.check_retire("db")
    with pytest.raises(UnknownProcessError, match="no process named web-9"):
        core.check_retire("web-9")
    core.check_retire("web-1")  # may go

    assert not any(s.draining for s in core.status())
    assert core.journal == []
