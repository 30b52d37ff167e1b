"""A purger's attempts: retried on no answer or a 5xx, never on a refusal, always bounded."""

import asyncio

from purge_factories import NEVER, Edges, answer, member, purger

from millionscale.cdn.purge import Purge


def run(coroutine):
    return asyncio.run(coroutine)


def test_an_edge_that_answers_503_twice_is_purged_on_the_third_attempt():
    edges = Edges(
        {"edge-1": [answer(503, b"{}"), answer(503, b"{}"), answer(200, b'{"purged": 4}')]}
    )

    result = run(purger(edges, member("edge-1")).purge(Purge.tag("photo-1")))

    assert result.complete
    assert (result.edges[0].purged, result.edges[0].attempts) == (4, 3)


def test_an_edge_that_keeps_failing_gets_no_more_than_the_attempts():
    edges = Edges({"edge-1": [answer(500, b'{"detail": "boom"}')]})

    result = run(purger(edges, member("edge-1"), attempts=2).purge(Purge.tag("photo-1")))

    assert edges.calls == ["edge-1", "edge-1"]
    assert result.edges[0].error == "HTTP 500 (boom) (2 attempts)"


def test_a_refusal_is_not_retried():
    edges = Edges({"edge-1": [answer(401, b'{"detail": "wrong admin token"}')]})

    result = run(purger(edges, member("edge-1")).purge(Purge.tag("photo-1")))

    assert edges.calls == ["edge-1"]
    assert result.edges[0].error == "refused: HTTP 401 (wrong admin token)"


def test_an_edge_that_never_answers_times_out_on_each_attempt():
    edges = Edges({"edge-1": [NEVER]})

    result = run(
        purger(edges, member("edge-1"), attempts=2, timeout_s=0.01).purge(Purge.tag("photo-1"))
    )

    assert result.edges[0].error == "no answer within 0.01 s (2 attempts)"


def test_a_refused_connection_is_retried_then_reported():
    edges = Edges({"edge-1": [answer(200)]}, refused={"edge-1"})

    result = run(purger(edges, member("edge-1")).purge(Purge.tag("photo-1")))

    assert edges.calls == ["edge-1"] * 3
    assert result.edges[0].error == "connection refused (3 attempts)"


def test_an_answer_without_a_count_is_not_an_acknowledgement():
    edges = Edges({"edge-1": [answer(200, b'{"ok": true}')]})

    result = run(purger(edges, member("edge-1")).purge(Purge.tag("photo-1")))

    assert result.edges[0].error == "answered HTTP 200 without a count of purged objects"
