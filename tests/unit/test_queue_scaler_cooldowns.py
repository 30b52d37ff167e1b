"""After a change, no scale-up for ``up_cooldown_s`` and no scale-down for ``down_cooldown_s``."""

import itertools

from queue_scaler_factories import BEHIND, QUIET, scaler

from millionscale.queue import Hold, Scale


def test_a_second_scale_up_waits_for_the_up_cooldown():
    core, clock = scaler(up_cooldown_s=10.0, max_workers=50)
    core.step(clock(), BEHIND, workers=2)
    clock.jump(9.9)

    early = core.step(clock(), BEHIND, workers=6)
    clock.jump(0.1)
    due = core.step(clock(), BEHIND, workers=6)

    assert early == Hold(
        "holding 6 workers: the oldest job waited 30.0 s, over the 5 s target; "
        "the last change was 9.9 s ago, within the 10 s scale-up cooldown"
    )
    assert isinstance(due, Scale)
    assert due.to == 12


def test_a_scale_down_waits_for_the_down_cooldown_after_a_scale_up():
    core, clock = scaler(up_cooldown_s=10.0, down_cooldown_s=60.0, stabilisation_s=0.0)
    core.step(clock(), BEHIND, workers=2)  # up to 6
    clock.jump(59.0)

    early = core.step(clock(), QUIET, workers=6)
    clock.jump(1.0)
    due = core.step(clock(), QUIET, workers=6)

    assert early == Hold(
        "holding 6 workers: no job is waiting, quiet for 0.0 s; the last change was "
        "59.0 s ago, within the 60 s scale-down cooldown"
    )
    assert due == Scale(5, "6 → 5 workers: no job is waiting, quiet for 1.0 s")


def test_scale_downs_are_one_down_cooldown_apart():
    core, clock = scaler(down_cooldown_s=60.0, stabilisation_s=0.0)
    changes: list[float] = []

    for _ in range(40):  # 200 s of quiet, a step every 5 s
        decision = core.step(clock(), QUIET, workers=8 - len(changes))
        if isinstance(decision, Scale):
            changes.append(clock())
        clock.jump(5.0)

    gaps = [later - earlier for earlier, later in itertools.pairwise(changes)]
    assert len(changes) == 4  # at 0, 60, 120 and 180 s
    assert gaps == [60.0, 60.0, 60.0]


def test_the_first_change_has_no_cooldown_to_wait_for():
    core, clock = scaler(up_cooldown_s=10.0)

    decision = core.step(clock(), BEHIND, workers=1)

    assert isinstance(decision, Scale)


def test_the_statistics_remember_the_last_change():
    core, clock = scaler()
    core.step(clock(), BEHIND, workers=1)
    changed_at = clock()
    clock.jump(3.0)
    core.step(clock(), BEHIND, workers=5)

    stats = core.statistics()

    assert (stats.steps, stats.scale_ups, stats.scale_downs) == (2, 1, 0)
    assert stats.last_change_at == changed_at
