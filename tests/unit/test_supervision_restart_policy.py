"""The restart policy decides what an exit outside a stop means: restart, done or failed."""

from factories import bring_up, plan, supervision

from millionscale.testing import FakeClock
from millionscale.topology.lifecycle import Phase


def test_on_failure_does_not_restart_a_clean_exit():
    core = supervision(FakeClock(), job=plan(policy="on-failure"))
    bring_up(core, {"job": 100})

    core.exited("job", 0)

    assert core.phase("job") is Phase.STOPPED
    assert core.journal[-1] == "job: exited with code 0; not restarted (on-failure)"
    assert not core.any_failed


def test_on_failure_restarts_a_non_zero_exit():
    core = supervision(FakeClock(), job=plan(policy="on-failure"))
    bring_up(core, {"job": 100})

    core.exited("job", 3)

    assert core.phase("job") is Phase.BACKOFF


def test_on_failure_restarts_a_process_killed_by_a_signal():
    core = supervision(FakeClock(), job=plan(policy="on-failure"))
    bring_up(core, {"job": 100})

    core.exited("job", -9)

    assert core.phase("job") is Phase.BACKOFF
    assert core.journal[-1].startswith("job: killed by signal 9; restart 1 of")


def test_always_restarts_even_a_clean_exit():
    core = supervision(FakeClock(), job=plan(policy="always", backoff_initial_s=0.5))
    bring_up(core, {"job": 100})

    core.exited("job", 0)

    assert core.phase("job") is Phase.BACKOFF
    assert core.journal[-1] == "job: exited with code 0; restart 1 of 5 in 0.5 s"


def test_never_leaves_a_clean_exit_stopped():
    core = supervision(FakeClock(), job=plan(policy="never"))
    bring_up(core, {"job": 100})

    core.exited("job", 0)

    assert core.phase("job") is Phase.STOPPED
    assert core.journal[-1] == "job: exited with code 0; not restarted (never)"


def test_never_marks_a_failed_exit_failed():
    core = supervision(FakeClock(), job=plan(policy="never"))
    bring_up(core, {"job": 100})

    core.exited("job", 1)

    assert core.phase("job") is Phase.FAILED
    assert core.journal[-1] == "job: exited with code 1; not restarted (never)"
    assert core.any_failed


def test_who_killed_it_is_said_whatever_the_policy_decides():
    oom = "killed by the OOM killer: host small is limited to 64 MiB of memory"
    core = supervision(FakeClock(), job=plan(policy="never"), web=plan(policy="on-failure"))
    bring_up(core, {"job": 100, "web": 101})

    core.exited("job", -9, killer=oom)
    core.exited("web", -9, killer=oom)

    assert core.phase("job") is Phase.FAILED
    assert core.journal[-2] == f"job: {oom} (killed by signal 9); not restarted (never)"
    assert core.journal[-1].startswith(f"web: {oom} (killed by signal 9); restart 1 of 5")
