"""Backends join and leave the detector; the share counts the pool as it is now."""

from millionscale.lb import Ejection, OutlierDetector, OutlierStatistics


def test_a_removed_backend_is_forgotten_even_when_ejected():
    detector = OutlierDetector(["web-1", "web-2"])
    for _ in range(5):
        detector.on_response("web-1", 500, 1000.0)

    detector.remove("web-1")

    assert detector.ejected(1000.0) == frozenset()
    assert detector.statistics().backends == 1


def test_an_added_backend_counts_in_the_share_and_can_be_ejected():
    detector = OutlierDetector()
    for i in range(20):
        detector.add(f"web-{i}")

    events = [detector.on_response("web-3", 500, 1000.0) for _ in range(5)]

    assert isinstance(events[-1], Ejection)


def test_statistics_say_who_is_out_and_how_often():
    detector = OutlierDetector(["web-1", "web-2"])
    for _ in range(5):
        detector.on_response("web-1", 500, 1000.0)

    stats = detector.statistics()

    assert stats == OutlierStatistics(
        backends=2,
        ejected=("web-1",),
        ejections=1,
        overflows=0,
        returns=0,
        times_ejected={"web-1": 1, "web-2": 0},
    )
