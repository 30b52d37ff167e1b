"""Which edges a purge goes to, in what order, and what each is sent."""

import asyncio
import json

from purge_factories import TOKEN, Edges, answer, member, purger

from millionscale.cdn.purge import Purge


def run(coroutine):
    return asyncio.run(coroutine)


def test_every_live_member_of_the_cdn_tier_is_purged():
    edges = Edges({"edge-1": [answer(200)], "edge-2": [answer(200)], "edge-3": [answer(200)]})
    members = (
        member("edge-1"),
        member("edge-2", health="starting"),
        member("edge-3", health="stopping"),
        member("edge-4", health="stopped"),
        member("edge-5", health="failed"),
    )

    result = run(purger(edges, *members).purge(Purge.tag("photo-1")))

    assert sorted(r.edge for r in result.edges) == ["edge-1", "edge-2", "edge-3"]
    assert result.complete


def test_with_shields_only_they_are_purged_and_asked_to_wait_for_the_edges_below():
    edges = Edges({"edge-1": [answer(200)], "shield-1": [answer(200)]})

    run(purger(edges, member("edge-1"), member("shield-1", role="shield")).purge(Purge.tag("t")))

    assert edges.calls == ["shield-1"]  # edge-1 follows the shield's purge log
    _, _, body = b"".join(edges.sent["shield-1"]).partition(b"\r\n\r\n")
    assert json.loads(body)["wait"] is True


def test_each_edge_gets_the_purge_with_the_token_and_the_issue_time():
    edges = Edges({"edge-1": [answer(200)]})

    run(purger(edges, member("edge-1")).purge(Purge.tag("photo-9", soft=True)))

    head, _, body = b"".join(edges.sent["edge-1"]).partition(b"\r\n\r\n")
    assert head.startswith(b"POST /v1/purge HTTP/1.1\r\n")
    assert f"Authorization: Bearer {TOKEN}".encode() in head
    assert json.loads(body) == {"tag": "photo-9", "soft": True, "issued_at": 1_700_000_000.0}


def test_a_member_without_an_admin_port_is_reported_not_skipped():
    edges = Edges({})

    result = run(purger(edges, member("edge-1", admin=None)).purge(Purge.tag("t")))

    assert edges.calls == []
    assert result.edges[0].error == "edge-1 has no port named 'admin' (it has: main)"


def test_no_edge_in_discovery_is_an_empty_result():
    result = run(purger(Edges({})).purge(Purge.tag("t")))

    assert result.edges == ()
    assert not result.complete


def test_a_shields_answer_names_the_edges_below_that_applied_it_and_those_that_had_not():
    body = b'{"purged": 2, "seq": 7, "applied": ["edge-1"], "pending": ["edge-2"]}'
    edges = Edges({"shield-1": [answer(200, body)]})

    result = run(purger(edges, member("shield-1", role="shield")).purge(Purge.tag("t")))

    [shield] = result.edges
    assert (shield.followers, shield.pending) == (("edge-1",), ("edge-2",))
    assert not result.complete  # edge-2 follows on, but had not applied it in time
    assert "edges below not yet purged: edge-2" in result.sentence()
