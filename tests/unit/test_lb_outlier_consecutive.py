"""Envoy's consecutive-failure detectors: five in a row eject; any success starts over."""

from collections.abc import Sequence

from millionscale.lb import ConnectionFailure, Ejection, Outcome, OutlierDetector, Overflow
from millionscale.testing import FakeClock

POOL = [f"web-{i}" for i in range(10)]


def feed(
    detector: OutlierDetector, clock: FakeClock, backend: str, outcomes: Sequence[Outcome]
) -> list[Ejection | Overflow | None]:
    events = []
    for outcome in outcomes:
        clock.jump(0.01)
        events.append(detector.on_response(backend, outcome, clock.now()))
    return events


def test_five_consecutive_5xx_eject_a_backend():
    clock = FakeClock()
    detector = OutlierDetector(POOL)

    events = feed(detector, clock, "web-1", [500] * 5)

    assert events[:4] == [None] * 4
    assert events[4] == Ejection(
        "web-1",
        at=clock.now(),
        until=clock.now() + 30.0,
        times=1,
        reason="web-1 ejected for 30 s after 5 consecutive 5xx, the last 500 (ejection 1)",
    )
    assert detector.ejected(clock.now()) == {"web-1"}


def test_a_success_in_between_starts_the_count_over():
    clock = FakeClock()
    detector = OutlierDetector(POOL)

    events = feed(detector, clock, "web-1", [500] * 4 + [200] + [500] * 4)

    assert events == [None] * 9
    assert detector.ejected(clock.now()) == frozenset()


def test_a_4xx_is_the_clients_fault_and_resets_the_count():
    clock = FakeClock()
    detector = OutlierDetector(POOL)

    events = feed(detector, clock, "web-1", [503] * 4 + [404] + [503] * 4)

    assert events == [None] * 9


def test_gateway_errors_are_named_as_such():
    clock = FakeClock()
    detector = OutlierDetector(POOL)

    *_, event = feed(detector, clock, "web-1", [502, 503, 504, 502, 503])

    assert isinstance(event, Ejection)
    assert "after 5 consecutive gateway errors, the last 503" in event.reason


def test_connection_failures_eject_and_are_named_as_such():
    clock = FakeClock()
    detector = OutlierDetector(POOL)

    *_, event = feed(
        detector, clock, "web-1", [ConnectionFailure.CONNECT] * 4 + [ConnectionFailure.RESET]
    )

    assert isinstance(event, Ejection)
    assert "after 5 consecutive connection failures, the last connection reset" in event.reason


def test_connection_failures_count_as_5xx_as_in_envoy_by_default():
    clock = FakeClock()
    detector = OutlierDetector(POOL)
    mixed: list[Outcome] = [500, ConnectionFailure.TIMEOUT, 500, ConnectionFailure.TIMEOUT, 500]

    *_, event = feed(detector, clock, "web-1", mixed)

    assert isinstance(event, Ejection)
    assert "after 5 consecutive 5xx, the last 500" in event.reason


def test_responses_of_an_unknown_or_ejected_backend_are_ignored():
    clock = FakeClock()
    detector = OutlierDetector(POOL)
    feed(detector, clock, "web-1", [500] * 5)

    late = feed(detector, clock, "web-1", [500] * 5)
    stranger = feed(detector, clock, "web-99", [500] * 5)

    assert late == stranger == [None] * 5
    assert detector.statistics().ejections == 1
