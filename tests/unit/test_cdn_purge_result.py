"""A purge's result: which edges acknowledged, how many objects, and the lag to the last."""

from millionscale.cdn.purge import EdgeResult, Purge, PurgeResult

PURGE = Purge.tag("photo-7")


def result(*edges: EdgeResult) -> PurgeResult:
    return PurgeResult(PURGE, 1_700_000_000.0, edges)


def test_the_lag_is_the_time_until_the_last_edge_acknowledged():
    done = result(
        EdgeResult("edge-1", "10.0.0.1:9000", 2, 1, 0.004),
        EdgeResult("edge-2", "10.0.0.2:9000", 1, 2, 0.250),
    )

    assert done.complete
    assert done.lag_s == 0.250
    assert done.purged == 3
    assert done.sentence() == "purge of tag photo-7: 2 of 2 edges, 3 objects, in 250 ms"


def test_an_edge_that_never_acknowledged_makes_it_incomplete_and_is_named():
    partial = result(
        EdgeResult("edge-1", "10.0.0.1:9000", 1, 1, 0.010),
        EdgeResult("edge-2", "10.0.0.2:9000", None, 3, 6.3, "connection refused (3 attempts)"),
    )

    assert not partial.complete
    assert partial.lag_s == 0.010  # the failed edge's time is not an acknowledgement
    assert [r.edge for r in partial.failed] == ["edge-2"]
    assert partial.sentence() == (
        "purge of tag photo-7: 1 of 2 edges, 1 object, in 10 ms; "
        "not purged: edge-2: connection refused (3 attempts)"
    )


def test_no_edge_at_all_is_not_complete_and_has_no_lag():
    empty = result()

    assert not empty.complete
    assert empty.lag_s is None
    assert empty.sentence() == "purge of tag photo-7: no edge to purge"
