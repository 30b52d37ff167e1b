"""A result file says which command wrote it, when, on what; repeated runs keep every figure."""

import argparse
import datetime as dt

import pytest

from millionscale.bench.provenance import at_least, over_runs, provenance
from millionscale.errors import ConfigError


def test_provenance_names_the_command_the_date_and_the_machine():
    moment = dt.datetime(2026, 12, 2, 19, 1, 5, tzinfo=dt.UTC)

    written_by = provenance([".venv/bin/python", "bench/x.py", "--runs", "3"], now=moment, cpus=2)

    assert written_by["command"] == ".venv/bin/python bench/x.py --runs 3"
    assert written_by["date"] == "2026-12-02T19:01:05+00:00"
    assert written_by["machine"]["cpus"] == 2
    assert set(written_by["machine"]) == {"cpus", "python", "platform"}


def test_provenance_quotes_words_a_shell_would_split():
    written_by = provenance(["bench/x.py", "--json", "my results.json"], cpus=1)

    assert written_by["command"] == "bench/x.py --json 'my results.json'"


def test_provenance_dates_in_utc_whatever_the_clock_zone():
    moment = dt.datetime(2026, 12, 2, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))

    assert provenance(["x"], now=moment)["date"] == "2026-12-02T19:00:00+00:00"


def test_over_runs_keeps_every_run_the_median_and_the_count():
    figures = over_runs([400.0, 312.5, 387.5])

    assert figures == {"runs": [400.0, 312.5, 387.5], "median": 387.5, "run_count": 3}


def test_over_runs_of_an_even_count_is_the_middle_mean():
    assert over_runs([1, 2, 3, 10])["median"] == 2.5


def test_over_one_run_the_median_is_that_run():
    assert over_runs([238.0]) == {"runs": [238.0], "median": 238.0, "run_count": 1}


def test_no_runs_is_a_clear_error_not_a_statistics_error():
    with pytest.raises(ConfigError, match="no runs"):
        over_runs([])


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_run_without_a_finite_figure_is_refused(bad):
    with pytest.raises(ConfigError, match="not a finite number"):
        over_runs([1.0, bad])


@pytest.mark.parametrize(("minimum", "text", "value"), [(1, "3", 3), (0, "0", 0), (1, "1", 1)])
def test_at_least_accepts_counts_from_the_minimum(minimum, text, value):
    assert at_least(minimum)(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "2.5", "three", ""])
def test_at_least_one_refuses_what_is_not_a_positive_count(text):
    with pytest.raises(argparse.ArgumentTypeError):
        at_least(1)(text)


@pytest.mark.parametrize("text", ["0", "0.5", "nan", "inf", "-inf", "x"])
def test_at_least_one_second_refuses_short_and_non_finite_durations(text):
    with pytest.raises(argparse.ArgumentTypeError):
        at_least(1, float)(text)


def test_a_bad_count_is_one_usage_error_naming_the_option(capsys):
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--latency-rounds", type=at_least(0), default=3)

    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--latency-rounds", "-1"])

    assert exited.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error == "bench: error: argument --latency-rounds: must be a whole number >= 0, got -1"
