"""`millionscale estimate` as a user runs it: a real process, real engines for --measure."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _run(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "millionscale.cli", "estimate", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},  # wide enough that rich wraps no header
        check=False,
    )


def test_latency_measure_starts_and_stops_real_engines():
    done = _run("latency", "--measure", "--json")

    assert done.returncode == 0, done.stderr
    measured = {m["key"]: m for m in json.loads(done.stdout)["measured"]}
    for key in ("postgres_round_trip", "redis_round_trip", "main_memory_reference"):
        assert measured[key]["seconds"] is not None, measured[key]
        assert 0 < measured[key]["seconds"] < 0.1


def test_latency_measure_prints_the_figures_beside_the_classic_ones():
    done = _run("latency", "--measure")

    assert done.returncode == 0, done.stderr
    assert "measured here" in done.stdout
    assert "PostgreSQL round trip" in done.stdout


def test_calibrated_photos_at_1m_dau():
    done = _run(
        "scenarios/photos-1m.toml", "--calibrate", "bench/results/photos_capacity.json", "--json"
    )

    data = json.loads(done.stdout)
    web = next(t for t in data["tiers"] if t["tier"] == "web")
    assert done.returncode == 0
    assert web["capacity"] == "measured here"
    assert web["nodes"] == data["servers"]["web"] >= 1


def test_bad_input_is_one_line_and_exit_code_2():
    done = _run("--dau", "-5")

    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: --dau: must be greater than 0, got -5 (accepted: ")
    assert done.stderr.count("\n") == 1
