"""Readiness is probed from the moment a process runs, one probe at a time, every interval."""

from factories import plan, supervision

from millionscale.testing import FakeClock
from millionscale.topology.lifecycle import Phase
from millionscale.topology.supervision import Probe


def test_a_spawned_process_is_probed_at_once():
    clock = FakeClock()
    core = supervision(clock, web=plan(interval_s=0.5))
    core.step()

    core.spawned("web", 100)
    actions = core.step()

    assert actions == [Probe("web")]
    assert core.journal[-1] == "web: started as pid 100"


def test_no_second_probe_is_asked_while_one_is_in_flight():
    clock = FakeClock()
    core = supervision(clock, web=plan(interval_s=0.5, timeout_s=30))
    core.step()
    core.spawned("web", 100)
    core.step()

    clock.jump(5.0)
    actions = core.step()

    assert actions == []


def test_after_a_failed_probe_the_next_is_due_one_interval_later_not_before():
    clock = FakeClock()
    core = supervision(clock, web=plan(interval_s=0.5))
    core.step()
    core.spawned("web", 100)
    core.step()
    core.probed("web", ok=False)

    clock.jump(0.4)
    early = core.step()
    clock.jump(0.1)
    due = core.step()

    assert early == []
    assert due == [Probe("web")]


def test_a_successful_probe_makes_the_process_ready_and_says_how_long_it_took():
    clock = FakeClock()
    core = supervision(clock, web=plan(interval_s=0.5))
    core.step()
    core.spawned("web", 100)
    core.step()
    clock.jump(0.3)

    core.probed("web", ok=True)

    assert core.phase("web") is Phase.READY
    assert core.all_ready
    assert core.journal[-1] == "web: ready after 0.30 s"


def test_a_ready_process_is_not_probed_any_more():
    clock = FakeClock()
    core = supervision(clock, web=plan(interval_s=0.5))
    core.step()
    core.spawned("web", 100)
    core.step()
    core.probed("web", ok=True)

    clock.jump(60.0)
    actions = core.step()

    assert actions == []


def test_the_next_deadline_is_the_next_probe_while_none_is_in_flight():
    clock = FakeClock()
    core = supervision(clock, web=plan(interval_s=0.5, timeout_s=30))
    core.step()
    core.spawned("web", 100)
    core.step()

    in_flight = core.next_deadline()
    core.probed("web", ok=False)
    between_probes = core.next_deadline()

    assert in_flight == clock.now() + 30  # only the ready timeout is pending
    assert between_probes == clock.now() + 0.5
