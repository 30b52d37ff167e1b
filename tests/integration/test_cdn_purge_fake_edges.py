"""A purger against edge admin APIs over real TCP: every edge told, failures bounded."""

import asyncio

import pytest
from purge_support import TOKEN, FakeEdge, discovery_of, no_sleep

from millionscale.cdn.purge import Purge, Purger

pytestmark = pytest.mark.integration


def purger(discovery, token: str = TOKEN, **options) -> Purger:
    return Purger(discovery, token, sleep=no_sleep, **options)


def test_every_edge_gets_the_purge_and_says_how_many_it_purged():
    with FakeEdge("edge-1", count=2) as one, FakeEdge("edge-2", count=1) as two:
        result = asyncio.run(purger(discovery_of(one, two)).purge(Purge.tag("photo-3")))

        assert (
            one.next_purge()
            == two.next_purge()
            == {
                "tag": "photo-3",
                "soft": False,
                "issued_at": result.issued_at,
            }
        )
    assert result.complete
    assert result.purged == 3
    assert result.lag_s is not None
    assert result.lag_s < 2.0


def test_a_wrong_token_is_refused_once_and_reported():
    with FakeEdge("edge-1") as edge:
        result = asyncio.run(purger(discovery_of(edge), token="wrong").purge(Purge.tag("t")))

    assert result.edges[0].attempts == 1
    assert result.edges[0].error is not None
    assert result.edges[0].error.startswith("refused: HTTP 401")


def test_an_edge_that_is_busy_for_a_moment_is_purged_on_a_retry():
    with FakeEdge("edge-1") as edge:
        edge.fail(times=2)

        result = asyncio.run(purger(discovery_of(edge)).purge(Purge.url("/static/app.css")))

        assert edge.next_purge()["url"] == "/static/app.css"
    assert result.complete
    assert result.edges[0].attempts == 3


def test_an_edge_that_is_down_costs_its_attempts_and_not_the_others():
    down = FakeEdge("edge-2").start()
    down.stop()  # its port is closed now
    with FakeEdge("edge-1") as up:
        result = asyncio.run(purger(discovery_of(up, down)).purge(Purge.tag("t")))

    assert [r.edge for r in result.acknowledged] == ["edge-1"]
    assert result.failed[0].error == "connection refused (3 attempts)"


def test_a_purge_submitted_in_the_background_is_delivered_before_close():
    with FakeEdge("edge-1") as edge:

        async def scenario():
            purger_ = purger(discovery_of(edge))
            task = purger_.submit(Purge.tag("photo-5"))
            await purger_.aclose()
            return task.result(), purger_.statistics()

        result, statistics = asyncio.run(scenario())

        assert edge.next_purge()["tag"] == "photo-5"
    assert result is not None
    assert result.complete
    assert (statistics.issued, statistics.complete, statistics.pending) == (1, 1, 0)


def test_an_edge_that_never_answers_is_given_up_on_within_the_bound():
    with FakeEdge("edge-1") as edge:
        edge.hold()
        purger_ = purger(discovery_of(edge), attempts=2, timeout_s=0.2)

        result = asyncio.run(purger_.purge(Purge.tag("t")))

    assert result.edges[0].error == "no answer within 0.2 s (2 attempts)"
    assert result.edges[0].elapsed_s < purger_.longest_s + 1.0


def test_with_a_shield_only_the_shield_is_asked():
    order: list[str] = []
    with (
        FakeEdge("edge-1", order=order) as edge,
        FakeEdge("shield-1", role="shield", order=order) as shield,
    ):
        result = asyncio.run(purger(discovery_of(edge, shield)).purge(Purge.tag("photo-8")))

    assert result.complete
    assert order == ["shield-1"]  # edge-1 follows the shield's purge log
