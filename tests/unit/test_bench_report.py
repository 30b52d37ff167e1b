"""Reports: the JSON file is written whole or not at all; the tables say what matters."""

import json

import pytest
from rich.console import Console

from millionscale.bench.capacity import CapacityPlan, conclude, evaluate
from millionscale.bench.outcome import OK, Outcome
from millionscale.bench.recorder import Recorder
from millionscale.bench.report import capacity_table, check_writable, summary_table, write_json
from millionscale.errors import ConfigError


def rendered(table) -> str:
    console = Console(record=True, width=120)
    console.print(table)
    return console.export_text()


def small_summary():
    rec = Recorder(10.0, 1.0, 0.0)
    for i in range(9):
        rec.record(i / 10, i / 10 + 0.004, OK)
    rec.record(0.9, 0.95, Outcome.failed("status_5xx"))
    return rec.summary()


def test_write_json_writes_the_data(tmp_path):
    path = tmp_path / "result.json"

    write_json(path, {"rate": 10.0})

    assert json.loads(path.read_text()) == {"rate": 10.0}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no scratch file left


def test_write_json_into_a_missing_directory_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot write the result"):
        write_json(tmp_path / "missing" / "result.json", {})


def test_check_writable_refuses_directories_and_missing_parents(tmp_path):
    check_writable(tmp_path / "fine.json")

    with pytest.raises(ConfigError, match="is a directory"):
        check_writable(tmp_path)
    with pytest.raises(ConfigError, match="not a writable directory"):
        check_writable(tmp_path / "missing" / "x.json")


def test_the_summary_table_shows_percentiles_and_error_kinds_that_occurred():
    text = rendered(summary_table(small_summary(), title="http://127.0.0.1:1"))

    assert "latency p99" in text
    assert "status_5xx" in text
    assert "timeout" not in text  # kinds that did not happen stay out of the way
    assert "1 (10.00%)" in text


def test_the_capacity_table_lists_every_step_and_the_answer():
    plan = CapacityPlan(start_rate=100.0, slo_p99_ms=50.0)
    steps = [
        evaluate(plan, 100.0, 5.0, 0.0, small_summary()),
        evaluate(plan, 200.0, 80.0, 0.0, small_summary()),
    ]

    text = rendered(capacity_table(conclude(plan, steps)))

    assert "capacity: 100/s at p99 <= 50 ms" in text
    assert "holds" in text
    assert "fails" in text


def test_the_capacity_json_embeds_each_step_result():
    plan = CapacityPlan(start_rate=100.0, slo_p99_ms=50.0)
    result = conclude(plan, [evaluate(plan, 100.0, 5.0, 0.0, small_summary())])

    data = json.loads(json.dumps(result.to_json()))

    assert data["highest_holding_rate"] == 100.0
    assert data["steps"][0]["holds"] is True
    assert data["steps"][0]["result"]["requests"] == 10
