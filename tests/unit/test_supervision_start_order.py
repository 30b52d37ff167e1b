"""Supervision starts a process only when everything it depends on is ready."""

from factories import bring_up, plan, supervision

from millionscale.testing import FakeClock
from millionscale.topology.lifecycle import Phase
from millionscale.topology.supervision import Probe, Spawn


def test_processes_without_dependencies_are_all_spawned_at_once_in_file_order():
    core = supervision(FakeClock(), cache=plan(), db=plan())

    actions = core.step()

    assert actions == [Spawn("cache"), Spawn("db")]
    assert core.journal == ["cache: starting", "db: starting"]


def test_a_dependent_is_not_spawned_while_its_dependency_is_only_starting():
    core = supervision(FakeClock(), web=plan("db"), db=plan())
    assert core.step() == [Spawn("db")]
    core.spawned("db", 100)

    actions = core.step()

    assert actions == [Probe("db")]
    assert core.status()[1].name == "web"
    assert core.status()[1].state == "starting"


def test_a_dependent_is_spawned_on_the_first_step_after_its_dependency_is_ready():
    core = supervision(FakeClock(), web=plan("db"), db=plan())
    core.step()
    core.spawned("db", 100)
    core.step()

    core.probed("db", ok=True)
    actions = core.step()

    assert actions == [Spawn("web")]
    assert core.journal[-2:] == ["db: ready after 0.00 s", "web: starting"]


def test_a_process_with_two_dependencies_waits_for_both():
    core = supervision(FakeClock(), db=plan(), cache=plan(), web=plan("db", "cache"))
    core.step()
    core.spawned("db", 100)
    core.spawned("cache", 101)
    core.probed("db", ok=True)

    waiting = core.step()
    core.probed("cache", ok=True)
    released = core.step()

    assert Spawn("web") not in waiting
    assert released == [Spawn("web")]


def test_start_order_follows_dependencies_not_file_order():
    core = supervision(FakeClock(), web=plan("api"), api=plan("db"), db=plan())

    assert core.order == ["db", "api", "web"]


def test_a_process_without_probe_is_ready_as_soon_as_it_runs_and_releases_its_dependents():
    core = supervision(FakeClock(), worker=plan("queue"), queue=plan(probed=False))
    core.step()

    core.spawned("queue", 100)
    actions = core.step()

    assert actions == [Spawn("worker")]
    assert "queue: running as pid 100; ready" in core.journal


def test_a_restarted_process_waits_until_its_dependencies_are_ready_again():
    # The module guarantees "a process is spawned only when every process it
    # depends on is ready"; that must hold for restarts too, or web restarts
    # against a database that is itself still down.
    clock = FakeClock()
    core = supervision(clock, db=plan(backoff_initial_s=5.0), web=plan("db", backoff_initial_s=0.5))
    bring_up(core, {"db": 100, "web": 200})
    core.exited("db", 1)  # back in 5 s
    core.exited("web", 1)  # lost its database; back in 0.5 s

    clock.jump(0.5)
    actions = core.step()

    assert Spawn("web") not in actions
    assert core.phase("db") is Phase.BACKOFF
