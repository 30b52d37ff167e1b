"""Routing rule 4, nearest first: a router in a data center reads from the replicas
there, else from the primary if it is there, else from any replica; one that knows
no data center takes every node for local."""

from __future__ import annotations

import random

import pytest

from millionscale.db import (
    BoundedStaleness,
    Consistency,
    Eventual,
    NodeState,
    ReadYourWrites,
    Role,
    Routing,
    Strong,
    UseNode,
)


def node(name: str, role: Role = Role.REPLICA, *, local: bool, **facts: object) -> NodeState:
    return NodeState(name, role, local=local, **{"replay_lsn": 100, **facts})  # type: ignore[arg-type]


def chosen(
    nodes: list[NodeState], consistency: Consistency | None = None, seed: int = 1
) -> UseNode:
    decision = Routing(rng=random.Random(seed)).read(nodes, consistency or Eventual(), now=0.0)
    assert isinstance(decision, UseNode)
    return decision


@pytest.mark.parametrize("seed", range(20))
def test_a_replica_in_this_data_center_wins_over_one_far_away_however_loaded(seed: int):
    nodes = [
        node("db", Role.PRIMARY, local=False),
        node("far", local=False),
        node("near", local=True, outstanding=50),
    ]

    assert chosen(nodes, seed=seed).node == "near"


def test_with_no_replica_here_the_primary_here_serves_the_read():
    nodes = [
        node("db", Role.PRIMARY, local=True),
        node("far-1", local=False),
        node("far-2", local=False),
    ]

    decision = chosen(nodes)

    assert decision.node == "db"
    assert decision.reason == "no replica in rotation in this data center; the primary is here"
    assert not decision.fallback


def test_with_nothing_here_a_replica_far_away_serves_rather_than_the_primary_far_away():
    nodes = [node("db", Role.PRIMARY, local=False), node("far", local=False)]

    assert chosen(nodes).node == "far"


def test_a_replica_here_that_has_not_caught_up_yields_to_the_primary_here():
    nodes = [
        node("db", Role.PRIMARY, local=True),
        node("near", local=True, replay_lsn=90),  # behind the session's write
        node("far", local=False, replay_lsn=120),
    ]

    assert chosen(nodes, ReadYourWrites(min_lsn=110)).node == "db"


def test_a_primary_here_out_of_rotation_does_not_hold_the_read_back():
    nodes = [node("db", Role.PRIMARY, local=True, healthy=False), node("far", local=False)]

    assert chosen(nodes).node == "far"


def test_locality_never_loosens_consistency():
    nodes = [
        node("db", Role.PRIMARY, local=False),
        node("near", local=True, lag_s=5.0),
        node("far", local=False, lag_s=0.1),
    ]

    assert chosen(nodes, BoundedStaleness(1.0)).node == "far"
    assert chosen(nodes, Strong()).node == "db"


@pytest.mark.parametrize("seed", range(10))
def test_a_router_that_knows_no_data_center_spreads_reads_as_before(seed: int):
    nodes = [node("db", Role.PRIMARY, local=True), node("r1", local=True), node("r2", local=True)]

    assert chosen(nodes, seed=seed).node in ("r1", "r2")
