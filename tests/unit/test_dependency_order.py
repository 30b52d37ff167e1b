"""Start order puts dependencies first, keeps file order on ties, and rejects cycles."""

import pytest
from factories import topology

from millionscale.errors import TopologyError
from millionscale.topology.order import dependents, find_cycle, start_order, topological_order


def test_independent_processes_keep_file_order():
    assert topological_order({"web": [], "db": [], "cache": []}) == ["web", "db", "cache"]


def test_a_dependency_comes_before_its_dependent():
    assert topological_order({"web": ["db"], "db": []}) == ["db", "web"]


def test_ties_keep_file_order():
    graph = {"web": ["db"], "worker": ["db"], "db": [], "cache": []}

    assert topological_order(graph) == ["db", "web", "worker", "cache"]


def test_a_chain_is_started_from_its_root():
    graph = {"web": ["api"], "api": ["db"], "db": []}

    assert topological_order(graph) == ["db", "api", "web"]


def test_the_same_graph_always_gives_the_same_order():
    graph = {"c": ["a"], "b": [], "a": [], "d": ["b", "c"]}

    orders = {tuple(topological_order(graph)) for _ in range(20)}

    assert orders == {("b", "a", "c", "d")}


def test_a_two_process_cycle_is_reported_with_its_path():
    with pytest.raises(TopologyError) as caught:
        topological_order({"a": ["b"], "b": ["a"]})

    assert caught.value.message == "dependency cycle: a -> b -> a"
    assert "remove one of these depends_on entries" in caught.value.hint


def test_only_the_cycle_is_reported_not_the_path_leading_to_it():
    with pytest.raises(TopologyError, match=r"dependency cycle: api -> db -> api$"):
        topological_order({"web": ["api"], "api": ["db"], "db": ["api"]})


def test_a_longer_cycle_is_reported_whole():
    with pytest.raises(TopologyError, match=r"dependency cycle: a -> b -> c -> a$"):
        topological_order({"a": ["b"], "b": ["c"], "c": ["a"]})


def test_a_process_depending_on_itself_is_a_cycle():
    with pytest.raises(TopologyError, match=r"dependency cycle: a -> a$"):
        topological_order({"a": ["a"]})


def test_find_cycle_finds_nothing_in_a_graph_without_cycle():
    assert find_cycle({"web": ["db", "cache"], "db": [], "cache": ["db"]}) is None


def test_find_cycle_returns_the_cycle_closed_on_its_first_node():
    assert find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]


def test_dependents_lists_who_depends_on_each_process():
    graph = {"db": [], "web": ["db"], "worker": ["db", "web"]}

    assert dependents(graph) == {"db": ["web", "worker"], "web": ["worker"], "worker": []}


def test_start_order_of_a_topology_follows_its_depends_on():
    parsed = topology(
        web={"tier": "web", "command": ["sh"], "depends_on": ["db"]},
        db={"tier": "db", "engine": "postgres"},
    )

    assert start_order(parsed) == ["db", "web"]


@pytest.mark.timeout(2)
def test_a_dependency_missing_from_the_graph_is_an_error_not_a_hang():
    # parse_topology refuses such a graph before ordering it, but Supervision
    # orders the plans it is given directly: a typo there must not spin for ever.
    with pytest.raises(TopologyError):
        topological_order({"web": ["db"]})
