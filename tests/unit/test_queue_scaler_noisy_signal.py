"""A noisy signal does not make the count flap: while the noise lasts, the count moves one way."""

import itertools
import random

from queue_scaler_factories import run, scaler, status


def _reversals(changes: list) -> int:
    directions = [c.to > c.before for c in changes]
    return sum(a != b for a, b in itertools.pairwise(directions))


def test_noise_around_the_target_only_ever_scales_up():
    rng = random.Random(16)
    signal = [status(ready=20, age=rng.uniform(0.0, 10.0)) for _ in range(360)]  # 30 min
    core, clock = scaler(max_workers=64)

    _decisions, changes, _workers = run(core, clock, signal, workers=2)

    assert changes
    assert all(c.to > c.before for c in changes)


def test_quiet_noise_with_a_spike_a_minute_never_scales_down():
    rng = random.Random(17)
    signal = [
        status(ready=20, age=8.0 if i % 12 == 0 else rng.uniform(0.0, 2.5)) for i in range(360)
    ]
    core, clock = scaler(stabilisation_s=120.0, max_workers=64)

    _decisions, changes, _workers = run(core, clock, signal, workers=4)

    assert all(c.to > c.before for c in changes)


def test_a_signal_that_turns_quiet_reverses_once():
    rng = random.Random(18)
    noisy = [status(ready=20, age=rng.uniform(4.0, 9.0)) for _ in range(60)]
    calm = [status(ready=2, age=rng.uniform(0.0, 2.0)) for _ in range(120)]
    core, clock = scaler(max_workers=64)

    _decisions, changes, _workers = run(core, clock, noisy + calm, workers=2)

    assert _reversals(changes) == 1
