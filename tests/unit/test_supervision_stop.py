"""Stop signals dependents first, a dependency only once its dependents have exited."""

from factories import bring_up, plan, supervision

from millionscale.testing import FakeClock
from millionscale.topology.lifecycle import Phase
from millionscale.topology.supervision import Kill, Spawn, Terminate


def _three_tiers(clock: FakeClock, stop_timeout_s: float = 10.0):
    """db <- api <- web, all ready, pids 1, 2, 3."""
    core = supervision(
        clock,
        db=plan(stop_timeout_s=stop_timeout_s),
        api=plan("db", stop_timeout_s=stop_timeout_s),
        web=plan("api", stop_timeout_s=stop_timeout_s),
    )
    bring_up(core, {"db": 1, "api": 2, "web": 3})
    return core


def test_stop_signals_only_the_outermost_dependent_first():
    core = _three_tiers(FakeClock())

    core.request_stop()
    actions = core.step()

    assert actions == [Terminate("web", drain=False)]
    assert core.journal[-2:] == [
        "stop requested: stopping in reverse dependency order",
        "web: stopping (pid 3)",
    ]


def test_a_dependency_is_signalled_only_after_its_dependent_has_exited():
    core = _three_tiers(FakeClock())
    core.request_stop()
    core.step()

    still_running = core.step()
    core.exited("web", -15)
    after_exit = core.step()

    assert still_running == []
    assert after_exit == [Terminate("api", drain=False)]
    assert "web: stopped (killed by signal 15)" in core.journal


def test_the_whole_topology_stops_in_reverse_start_order():
    core = _three_tiers(FakeClock())
    core.request_stop()
    signalled = []

    for _ in range(3):
        [action] = core.step()
        signalled.append(action)
        core.exited(action.name, 0)

    assert signalled == [
        Terminate("web", drain=False),
        Terminate("api", drain=False),
        Terminate("db", drain=False),
    ]
    assert core.finished
    assert [s.state for s in core.status()] == ["stopped", "stopped", "stopped"]


def test_stop_is_not_finished_while_a_process_is_still_stopping():
    core = _three_tiers(FakeClock())
    core.request_stop()
    core.step()

    assert core.stop_requested
    assert not core.finished


def test_pending_and_backoff_processes_stop_at_once_without_a_signal():
    clock = FakeClock()
    core = supervision(clock, db=plan(), web=plan("db"), worker=plan("web"))
    core.step()
    core.spawned("db", 1)
    core.probed("db", ok=True)
    core.step()
    core.spawned("web", 2)
    core.exited("web", 1)  # web in backoff, worker still pending

    core.request_stop()
    actions = core.step()

    assert actions == [Terminate("db", drain=False)]
    assert core.phase("worker") is Phase.STOPPED
    assert core.phase("web") is Phase.STOPPED
    assert "worker: stopped before it ran" in core.journal
    assert "web: stopped before it ran" in core.journal


def test_a_backoff_process_is_not_restarted_once_stop_is_requested():
    clock = FakeClock()
    core = supervision(clock, web=plan(backoff_initial_s=0.5))
    bring_up(core, {"web": 1})
    core.exited("web", 1)
    core.request_stop()

    core.step()
    clock.jump(1.0)
    later = core.step()

    assert later == []
    assert core.finished


def test_a_process_ignoring_its_stop_signal_is_killed_after_the_stop_timeout():
    clock = FakeClock()
    core = supervision(clock, web=plan(stop_timeout_s=5))
    bring_up(core, {"web": 1})
    core.request_stop()
    core.step()

    clock.jump(4.9)
    before = core.step()
    clock.jump(0.1)
    at_timeout = core.step()

    assert before == []
    assert at_timeout == [Kill("web")]
    assert core.journal[-1] == "web: still running 5 s after stop; killing it"


def test_the_stop_kill_is_sent_exactly_once():
    clock = FakeClock()
    core = supervision(clock, web=plan(stop_timeout_s=5))
    bring_up(core, {"web": 1})
    core.request_stop()
    core.step()
    clock.jump(5)
    core.step()

    clock.jump(60)
    later = core.step()

    assert later == []
    assert core.next_deadline() is None


def test_a_dependency_waits_even_for_a_dependent_that_had_to_be_killed():
    clock = FakeClock()
    core = supervision(clock, db=plan(stop_timeout_s=5), web=plan("db", stop_timeout_s=5))
    bring_up(core, {"db": 1, "web": 2})
    core.request_stop()
    core.step()
    clock.jump(5)
    assert core.step() == [Kill("web")]

    waiting = core.step()
    core.exited("web", -9)
    released = core.step()

    assert waiting == []
    assert released == [Terminate("db", drain=False)]


def test_a_process_whose_pid_is_not_known_yet_is_signalled_once_it_is():
    core = supervision(FakeClock(), web=plan())
    assert core.step() == [Spawn("web")]
    core.request_stop()

    before_pid = core.step()
    core.spawned("web", 7)
    after_pid = core.step()

    assert before_pid == []
    assert after_pid == [Terminate("web", drain=False)]


def test_a_crash_during_stop_is_not_restarted():
    core = _three_tiers(FakeClock())
    core.request_stop()
    core.step()

    core.exited("db", 1)

    assert core.phase("db") is Phase.STOPPED
    assert core.journal[-1] == "db: exited with code 1 while stopping"


def test_failed_processes_count_as_finished_and_release_their_dependencies():
    core = supervision(FakeClock(), db=plan(), web=plan("db", policy="never"))
    bring_up(core, {"db": 1, "web": 2})
    core.exited("web", 1)  # failed

    core.request_stop()
    actions = core.step()
    core.exited("db", 0)

    assert actions == [Terminate("db", drain=False)]
    assert core.finished
    assert [s.state for s in core.status()] == ["stopped", "failed"]


def test_asking_to_stop_twice_is_journalled_once():
    core = _three_tiers(FakeClock())

    core.request_stop()
    core.request_stop()

    assert core.journal.count("stop requested: stopping in reverse dependency order") == 1
