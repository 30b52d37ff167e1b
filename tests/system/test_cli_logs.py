"""`millionscale logs`: readable records from every process by time, --json, --level."""

import json

import pytest

from conftest import Cli, placeholder

pytestmark = pytest.mark.system


@pytest.fixture
def running(cli: Cli) -> Cli:
    topology = cli.write_topology(
        '[topology]\nname = "t"\n' + placeholder("web-a") + placeholder("web-b")
    )
    up = cli.run("up", str(topology), "--detach")
    assert up.returncode == 0, up.stderr
    return cli


def test_logs_without_a_name_interleaves_every_process_readably(running: Cli):
    result = running.run("logs", "-n", "500")

    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert not any(line.startswith("{") for line in lines)  # no raw JSON
    processes = {line.split()[3] for line in lines if len(line.split()) > 3 and "INFO" in line}
    assert {"web-a", "web-b", "supervisor"} <= processes
    times = [line[:18] for line in lines if line[:2].isdigit()]
    assert times == sorted(times)


def test_logs_json_is_one_object_a_line(running: Cli):
    result = running.run("logs", "web-a", "--json")

    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0, result.stderr
    assert records
    assert {r["process"] for r in records} == {"web-a"}
    assert all({"event", "level", "timestamp"} <= set(r) for r in records)


def test_logs_level_keeps_that_level_and_above(running: Cli):
    everything = running.run("logs", "--json", "-n", "1000")
    warnings = running.run("logs", "--json", "--level", "warning", "-n", "1000")

    levels = {json.loads(line)["level"] for line in warnings.stdout.splitlines()}
    assert "info" in {json.loads(line)["level"] for line in everything.stdout.splitlines()}
    assert levels <= {"warning", "error", "critical"}
