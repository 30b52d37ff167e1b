"""What the outside world sees of supervision: public states, readiness, deadlines."""

from factories import bring_up, plan, supervision

from millionscale.testing import FakeClock
from millionscale.topology.lifecycle import Phase


def test_before_anything_runs_every_process_is_starting():
    core = supervision(FakeClock(), web=plan("db"), db=plan())

    statuses = core.status()

    assert [(s.name, s.state, s.pid, s.restarts) for s in statuses] == [
        ("db", "starting", None, 0),
        ("web", "starting", None, 0),
    ]
    assert not core.all_ready
    assert not core.any_failed
    assert not core.finished


def test_status_lists_processes_in_start_order_with_pid_and_reason():
    core = supervision(FakeClock(), web=plan("db"), db=plan())
    core.step()
    core.spawned("db", 100)

    db, web = core.status()

    assert (db.name, db.phase, db.state, db.pid, db.reason) == (
        "db",
        Phase.STARTING,
        "starting",
        100,
        "starting",
    )
    assert (web.name, web.phase, web.state) == ("web", Phase.PENDING, "starting")


def test_a_process_in_backoff_is_publicly_still_starting():
    core = supervision(FakeClock(), web=plan())
    bring_up(core, {"web": 100})

    core.exited("web", 1)

    [web] = core.status()
    assert (web.phase, web.state) == (Phase.BACKOFF, "starting")
    assert web.reason == "exited with code 1; restart 1 of 5 in 0.5 s"


def test_all_ready_once_every_process_is_ready():
    core = supervision(FakeClock(), web=plan("db"), db=plan())

    bring_up(core, {"db": 100, "web": 101})

    assert core.all_ready
    assert [s.state for s in core.status()] == ["ready", "ready"]


def test_a_stopping_process_is_publicly_stopped():
    core = supervision(FakeClock(), web=plan())
    bring_up(core, {"web": 100})
    core.request_stop()

    core.step()

    [web] = core.status()
    assert (web.phase, web.state) == (Phase.STOPPING, "stopped")


def test_nothing_is_due_when_everything_is_ready():
    core = supervision(FakeClock(), web=plan("db"), db=plan())
    bring_up(core, {"db": 100, "web": 101})

    assert core.next_deadline() is None


def test_the_next_deadline_is_the_earliest_of_all_processes():
    clock = FakeClock()
    core = supervision(
        clock, a=plan(backoff_initial_s=2.0), b=plan(backoff_initial_s=0.5), c=plan(timeout_s=30)
    )
    bring_up(core, {"a": 1, "b": 2, "c": 3})
    core.exited("a", 1)
    core.exited("b", 1)

    assert core.next_deadline() == clock.now() + 0.5


def test_the_next_deadline_while_stopping_is_the_stop_timeout():
    clock = FakeClock()
    core = supervision(clock, web=plan(stop_timeout_s=5))
    bring_up(core, {"web": 100})
    core.request_stop()

    core.step()

    assert core.next_deadline() == clock.now() + 5
