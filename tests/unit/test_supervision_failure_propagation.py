"""A process that cannot run is failed, and so is everything that depends on it."""

from factories import plan, supervision

from millionscale.testing import FakeClock
from millionscale.topology.lifecycle import Phase
from millionscale.topology.supervision import Spawn


def test_a_process_that_cannot_be_started_is_failed_not_restarted():
    clock = FakeClock()
    core = supervision(clock, web=plan(policy="always"))
    core.step()

    core.spawn_failed("web", "no such file: ./web")
    clock.jump(3600)
    actions = core.step()

    assert core.phase("web") is Phase.FAILED
    assert actions == []
    assert core.journal[-1] == "web: could not start: no such file: ./web"
    assert core.status()[0].reason == "could not start: no such file: ./web"


def test_the_dependents_of_a_failed_process_are_failed_without_being_spawned():
    core = supervision(FakeClock(), db=plan(), web=plan("db"))
    core.step()
    core.spawn_failed("db", "initdb failed")

    actions = core.step()

    assert actions == []
    assert core.phase("web") is Phase.FAILED
    assert core.journal[-1] == "web: not started: dependency db failed"


def test_failure_propagates_through_a_chain_of_dependencies_in_one_step():
    core = supervision(FakeClock(), db=plan(), api=plan("db"), web=plan("api"))
    core.step()
    core.spawn_failed("db", "initdb failed")

    core.step()

    assert [s.state for s in core.status()] == ["failed", "failed", "failed"]
    assert core.journal[-2:] == [
        "api: not started: dependency db failed",
        "web: not started: dependency api failed",
    ]


def test_a_failed_dependency_does_not_stop_unrelated_processes():
    core = supervision(FakeClock(), db=plan(), cache=plan(), web=plan("db"))
    core.step()
    core.spawn_failed("db", "initdb failed")
    core.spawned("cache", 101)
    core.probed("cache", ok=True)

    core.step()

    assert core.phase("cache") is Phase.READY
    assert core.any_failed
    assert not core.all_ready


def test_a_dependency_that_gives_up_after_crashing_fails_its_pending_dependents():
    core = supervision(FakeClock(), db=plan(policy="never"), web=plan("db"))
    core.step()
    core.spawned("db", 100)

    core.exited("db", 1)
    actions = core.step()

    assert Spawn("web") not in actions
    assert core.phase("web") is Phase.FAILED
