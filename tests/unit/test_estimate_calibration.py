"""Calibration: per-node capacities from our own bench results, in three formats,
each marked as measured here; everything else stays assumed."""

from pathlib import Path

import pytest

from millionscale.bench.capacity import CapacityResult
from millionscale.errors import ConfigError
from millionscale.estimate import calibration_from_json, load_calibration

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def test_a_capacity_search_sets_the_web_capacity():
    data = CapacityResult(
        slo_p99_ms=100.0, max_error_rate=0.001, highest_holding_rate=240.0, steps=()
    ).to_json()

    calibration = calibration_from_json(data, "run.json")

    assert calibration.capacities == {"web_rps": 240.0}
    assert calibration.notes["web_rps"] == (
        "measured here: run.json, highest rate holding p99 ≤ 100 ms (one photo-app web process)"
    )


def test_a_search_where_nothing_held_is_an_error():
    data = CapacityResult(
        slo_p99_ms=100.0, max_error_rate=0.001, highest_holding_rate=None, steps=()
    ).to_json()

    with pytest.raises(ConfigError, match="no step of the search held its SLO"):
        calibration_from_json(data, "run.json")


def test_the_stored_photos_capacity_results_calibrate_the_web_tier():
    calibration = load_calibration(RESULTS / "photos_capacity.json")

    assert set(calibration.capacities) == {"web_rps"}
    assert calibration.capacities["web_rps"] > 0
    assert calibration.notes["web_rps"].startswith(
        f"measured here: {RESULTS / 'photos_capacity.json'}, stage "
    )


def _on_hosts(rate, web_hosts, bottleneck, databases=("database",)):
    hosts = {name: {"cpus": 0.25, "memory_bytes": 2**30} for name in [*web_hosts, *databases]}
    return {
        "highest_holding_rate": rate,
        "capacity": {"slo_p99_ms": 100},
        "hosts": hosts,
        "web_hosts": list(web_hosts),
        "database_hosts": list(databases),
        "per_web_host_rps": rate / len(web_hosts),
        "bottleneck": bottleneck,
    }


def test_stages_on_hosts_give_what_one_web_host_carries_and_its_size():
    data = {
        "single-server": _on_hosts(18, ["server"], "server", databases=["server"]),
        "separate-db": _on_hosts(30, ["web"], "web"),
        "load-balanced": _on_hosts(84, ["web-1", "web-2", "web-3"], "web-2"),
        "replicated": _on_hosts(40, ["web-1", "web-2"], "database"),
    }

    calibration = calibration_from_json(data, "p.json")

    # single-server's host also runs PostgreSQL, replicated's bottleneck is the
    # database: neither says what a web host carries.
    assert calibration.capacities == {"web_rps": 28.0}
    assert calibration.notes["web_rps"] == (
        "measured here: p.json, stage load-balanced, per web host (3 web hosts, the "
        "bottleneck a web host of 0.25 CPUs and 1 GiB) (the lowest; separate-db 30/s), "
        "highest rate holding p99 ≤ 100 ms"
    )


def test_stages_on_hosts_none_bounded_by_a_web_host_take_the_lowest_stage():
    data = {
        "single-server": _on_hosts(18, ["server"], "server", databases=["server"]),
        "replicated": _on_hosts(40, ["web-1", "web-2"], "database"),
    }

    calibration = calibration_from_json(data, "p.json")

    assert calibration.capacities == {"web_rps": 18.0}
    assert (
        "stage single-server (the lowest stage; replicated 40/s)" in (calibration.notes["web_rps"])
    )


def test_stages_in_memory():
    data = {
        "cpus": 4,
        "a": {"highest_holding_rate": 300, "capacity": {"slo_p99_ms": 50}},
        "b": {"highest_holding_rate": 200, "capacity": {"slo_p99_ms": 50}},
        "c": {"highest_holding_rate": None},
    }

    calibration = calibration_from_json(data, "p.json")

    assert calibration.capacities == {"web_rps": 200.0}
    assert calibration.notes["web_rps"].startswith(
        "measured here: p.json, stage b (the lowest stage; a 300/s), highest rate holding "
        "p99 ≤ 50 ms on 4 CPUs"
    )


def test_an_explicit_file_names_capacities_with_units():
    data = {"web_rps": 250, "cache_node_memory": "16GiB", "source": "make bench, 2 CPUs"}

    calibration = calibration_from_json(data, "c.json")

    assert calibration.capacities == {"web_rps": 250.0, "cache_node_memory": 16 * 2**30}
    assert calibration.notes["cache_node_memory"] == "measured here: c.json, make bench, 2 CPUs"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param([1, 2], "c.json: not a JSON object", id="list"),
        pytest.param({"hello": 1}, "c.json: not a calibration file", id="unknown"),
        pytest.param({"web_rps": 1, "web_rsp": 2}, "c.json: web_rsp: unknown key", id="typo"),
        pytest.param({"web_rps": -1}, "c.json: web_rps: must be greater than 0", id="negative"),
        pytest.param({"web_rps": "fast"}, "c.json: web_rps: cannot read 'fast'", id="text"),
        pytest.param({"highest_holding_rate": "x"}, "not a number", id="rate-text"),
        pytest.param({"s": {"highest_holding_rate": None}}, "no stage has a", id="no-stage"),
    ],
)
def test_bad_calibration_data_is_named(data, message):
    with pytest.raises(ConfigError) as caught:
        calibration_from_json(data, "c.json")

    assert message in caught.value.message
    assert caught.value.hint


def test_a_file_that_is_not_json_names_the_line(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{\n  "web_rps": ,\n}')

    with pytest.raises(ConfigError, match=r"c.json:2: not valid JSON"):
        load_calibration(path)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_calibration(tmp_path / "none.json")
