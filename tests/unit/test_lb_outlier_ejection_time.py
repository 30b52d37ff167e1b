"""Ejection time: 30 s times the number of ejections, at most 300 s; it decays when healthy."""

from millionscale.lb import Ejection, OutlierDetector, OutlierPolicy, Return
from millionscale.testing import FakeClock

POOL = [f"web-{i}" for i in range(10)]


def eject(detector: OutlierDetector, clock: FakeClock, backend: str = "web-1") -> Ejection:
    event = None
    for _ in range(5):
        event = detector.on_response(backend, 500, clock.now())
    assert isinstance(event, Ejection)
    return event


def test_a_backend_returns_exactly_when_its_time_has_passed():
    clock = FakeClock()
    detector = OutlierDetector(POOL)
    eject(detector, clock)

    clock.jump(29.999)
    still = detector.ejected(clock.now())
    clock.jump(0.001)
    returns = detector.expire(clock.now())

    assert still == {"web-1"}
    assert returns == [Return("web-1", clock.now(), "web-1 returns after 30 s ejected")]
    assert detector.ejected(clock.now()) == frozenset()


def test_each_ejection_in_a_row_lasts_longer_up_to_the_maximum():
    clock = FakeClock()
    detector = OutlierDetector(POOL)
    durations = []

    for _ in range(12):
        ejection = eject(detector, clock)
        durations.append(ejection.until - ejection.at)
        clock.jump(ejection.until - clock.now())

    assert durations == [
        30.0,
        60.0,
        90.0,
        120.0,
        150.0,
        180.0,
        210.0,
        240.0,
        270.0,
        300.0,
        300.0,
        300.0,
    ]


def test_time_back_in_service_brings_the_multiplier_down_one_step_per_interval():
    clock = FakeClock()
    detector = OutlierDetector(POOL)
    for _ in range(3):
        clock.jump(eject(detector, clock).until - clock.now())

    clock.jump(25.0)  # two full intervals of 10 s back in service: 3 -> 1
    ejection = eject(detector, clock)

    assert ejection.until - ejection.at == 60.0
    assert ejection.times == 4


def test_a_backend_healthy_for_long_starts_again_from_the_base_time():
    clock = FakeClock()
    detector = OutlierDetector(POOL)
    for _ in range(5):
        clock.jump(eject(detector, clock).until - clock.now())

    clock.jump(3600.0)
    ejection = eject(detector, clock)

    assert ejection.until - ejection.at == 30.0


def test_the_counters_start_over_after_a_return():
    clock = FakeClock()
    detector = OutlierDetector(POOL)
    clock.jump(eject(detector, clock).until - clock.now())

    events = [detector.on_response("web-1", 500, clock.now()) for _ in range(4)]

    assert events == [None] * 4


def test_envoys_defaults():
    policy = OutlierPolicy()

    assert (policy.consecutive_5xx, policy.consecutive_gateway_failure) == (5, 5)
    assert (policy.base_ejection_s, policy.max_ejection_s) == (30.0, 300.0)
    assert policy.max_ejection_percent == 10.0
