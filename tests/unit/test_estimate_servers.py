"""Servers per tier are the ceilings of peak load over one node's capacity, and the
tier with the most nodes' worth of load is the one that runs out first."""

import pytest

from millionscale.estimate import Inputs, estimate
from millionscale.estimate.render import bottleneck_sentence


def _inputs(**overrides):
    values = {
        "dau": 864_000,  # 864,000 users x 1 write / 86,400 s = 10 writes/s
        "writes_per_user": 1,
        "reads_per_write": 9,
        "peak_factor": 2,
        "text_size": 1000,
        "retention": 365 * 86_400,
        "cache_hit_ratio": 0.5,
        "web_rps": 30,
        "db_replica_rps": 40,
        "shard_write_rps": 15,
        "shard_storage": 10e12,
        "cache_node_rps": 1000,
        "cache_node_memory": 64e9,
        "worker_jobs_per_s": 100,
    }
    return Inputs(**(values | overrides))


def test_each_tier_is_sized_from_its_own_peak_load():
    result = estimate(_inputs())

    assert result.value("qps_peak") == pytest.approx(200)  # (10 + 90) x 2
    assert result.value("web") == 7  # 200 / 30 = 6.67
    assert result.value("db_read_replicas") == 3  # 180 x 0.5 / 40 = 2.25
    assert result.value("shards") == 2  # 20 writes/s / 15
    assert result.value("cache_nodes") == 1
    assert result.value("workers") == 1


def test_reads_the_cache_misses_go_to_the_replicas():
    result = estimate(_inputs())

    assert result.value("db_read_qps_peak") == pytest.approx(90)  # 180 peak reads x (1 - 0.5)
    assert result.value("db_replica_load") == pytest.approx(2.25)


def test_exactly_n_nodes_worth_needs_n_nodes():
    result = estimate(_inputs(web_rps=20))  # 200 / 20 = 10

    assert result.value("web_load") == pytest.approx(10)
    assert result.value("web") == 10


def test_shards_take_the_larger_of_write_load_and_storage():
    result = estimate(_inputs(shard_storage=10e9))  # 864 MB x 365 = 315.36 GB of text / 10 GB

    assert result.value("shard_storage_load") == pytest.approx(31.536)
    assert result.value("shards") == 32
    assert result.bottleneck.resource == "storage"


def test_under_traffic_alone_the_busiest_per_second_tier_is_named_too():
    result = estimate(_inputs(shard_storage=10e9))

    assert result.first_under_traffic.tier == "web"
    assert ". Under traffic alone: web servers (requests), 6.667 nodes' worth at peak" in (
        bottleneck_sentence(result)
    )


def test_the_tier_with_most_nodes_worth_runs_out_first():
    result = estimate(_inputs())

    assert result.bottleneck.tier == "web"
    assert result.value("dau_per_web_node") == pytest.approx(864_000 / (200 / 30))
    assert bottleneck_sentence(result).startswith("runs out first: web servers (requests): ")
    assert "one node (capacity assumed) is full at " in bottleneck_sentence(result)


def test_a_measured_capacity_is_named_as_measured():
    result = estimate(_inputs(measured={"web_rps": "measured here: bench.json"}))

    assert result.measured("web_rps") == "measured here: bench.json"
    assert result.measured("db_replica_rps") is None
    assert "(capacity measured here)" in bottleneck_sentence(result)


def test_a_tier_without_load_needs_no_node_and_never_runs_out():
    result = estimate(_inputs(jobs_per_write=0))

    assert result.value("workers") == 0
    assert not result.has("dau_per_worker_node")
