"""Origin offload: the tier's share of bytes served without the origin, and each edge's hit ratio."""

import pytest

from millionscale.cdn.offload import StatisticsReading, offload, read_statistics


def reading(name: str, role: str = "edge", **counters: int) -> StatisticsReading:
    return StatisticsReading(name=name, role=role, **counters)


def test_behind_a_shield_only_the_shields_fetches_load_the_origin():
    before = [reading("edge-1"), reading("edge-2"), reading("shield", "shield")]
    after = [
        reading("edge-1", hits=90, misses=10, bytes_from_edge=6_000_000, bytes_from_origin=700_000),
        reading("edge-2", hits=80, misses=20, bytes_from_edge=4_000_000, bytes_from_origin=900_000),
        reading(
            "shield",
            "shield",
            hits=25,
            misses=5,
            bytes_from_edge=1_600_000,
            bytes_from_origin=500_000,
        ),
    ]

    result = offload(before, after)

    assert (result.served_bytes, result.origin_bytes) == (10_000_000, 500_000)
    assert result.edge_share == pytest.approx(0.95)
    assert [(m.name, m.hit_ratio) for m in result.edges] == [("edge-1", 0.9), ("edge-2", 0.8)]
    assert result.sentence() == (
        "cdn: edges served 95% of 10.0 MB (hit ratio edge-1 90%, edge-2 80%, at the shield 83%); "
        "the origin sent 0.5 MB"
    )


def test_without_a_shield_the_edges_fetches_are_the_origins_load():
    after = [reading("edge-1", hits=3, misses=1, bytes_from_edge=1_000, bytes_from_origin=250)]

    result = offload([], after)

    assert result.origin_bytes == 250
    assert result.edge_share == pytest.approx(0.75)


def test_the_run_is_the_difference_between_the_readings():
    before = [reading("edge-1", hits=50, misses=50, bytes_from_edge=5_000, bytes_from_origin=5_000)]
    after = [reading("edge-1", hits=150, misses=50, bytes_from_edge=9_000, bytes_from_origin=5_000)]

    result = offload(before, after)

    assert result.members[0].hit_ratio == 1.0
    assert (result.served_bytes, result.origin_bytes, result.edge_share) == (4_000, 0, 1.0)


def test_a_member_that_restarted_counts_from_zero():
    before = [reading("edge-1", hits=500, bytes_from_edge=90_000)]
    after = [reading("edge-1", hits=4, misses=1, bytes_from_edge=2_000, bytes_from_origin=400)]

    result = offload(before, after)

    assert (result.members[0].hits, result.members[0].lookups) == (4, 5)
    assert result.served_bytes == 2_000


def test_passes_are_not_lookups_and_stale_answers_are_hits():
    after = [reading("edge-1", hits=1, stale=1, misses=1, revalidated=1, passed=96)]

    result = offload([], after)

    assert result.members[0].hit_ratio == 0.5


def test_an_idle_tier_says_so_rather_than_dividing_by_zero():
    result = offload([reading("edge-1")], [reading("edge-1")])

    assert result.edge_share is None
    assert result.sentence() == (
        "cdn: edges served n/a of 0.0 MB (hit ratio edge-1 n/a); the origin sent 0.0 MB"
    )


def test_a_reading_comes_from_the_admin_apis_statistics():
    body = {
        "edge": {"hits": 7, "misses": 2, "bytes_from_edge": 10, "clients": 3, "passed": True},
        "store": {"objects": 4},
    }

    class Client:
        def call(self, method, path):
            assert (method, path) == ("GET", "/v1/statistics")
            return body

    [got] = read_statistics([("edge-1", "edge", Client())])

    assert got == reading("edge-1", hits=7, misses=2, bytes_from_edge=10)
    assert StatisticsReading.from_json("x", "edge", {"edge": "garbage"}) == reading("x")
