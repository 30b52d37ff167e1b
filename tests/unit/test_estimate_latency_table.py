"""The latency numbers every engineer should know, as published, each with its source.

Jeff Dean, "Numbers Everyone Should Know", LADIS 2009 keynote (also reprinted in
Alex Xu, "System Design Interview", 2020, ch. 2); SSD rows from Jonas Bonér's
gist "Latency Numbers Every Programmer Should Know" (2012); the alternatives
noted from Peter Norvig, "Teach Yourself Programming in Ten Years" (2001).
"""

import pytest

from millionscale.estimate.latency import (
    BONER_2012,
    CLASSIC_LATENCIES,
    DEAN_2009,
    Measured,
    latency_rows,
)

FIGURES = {f.key: f for f in CLASSIC_LATENCIES}


@pytest.mark.parametrize(
    ("key", "seconds", "source"),
    [
        ("l1_cache_reference", 0.5e-9, DEAN_2009),
        ("branch_mispredict", 5e-9, DEAN_2009),
        ("l2_cache_reference", 7e-9, DEAN_2009),
        ("mutex_lock_unlock", 100e-9, DEAN_2009),
        ("main_memory_reference", 100e-9, DEAN_2009),
        ("compress_1kb", 10e-6, DEAN_2009),
        ("send_2kb_1gbps", 20e-6, DEAN_2009),
        ("read_4kb_random_ssd", 150e-6, BONER_2012),
        ("read_1mb_memory", 250e-6, DEAN_2009),
        ("round_trip_datacenter", 500e-6, DEAN_2009),
        ("read_1mb_ssd", 1e-3, BONER_2012),
        ("disk_seek", 10e-3, DEAN_2009),
        ("read_1mb_network", 10e-3, DEAN_2009),
        ("read_1mb_disk", 30e-3, DEAN_2009),
        ("round_trip_continents", 150e-3, DEAN_2009),
    ],
)
def test_each_classic_figure_is_the_published_one(key, seconds, source):
    figure = FIGURES[key]

    assert figure.seconds == pytest.approx(seconds)
    assert figure.source == source


def test_the_table_runs_from_fastest_to_slowest():
    times = [f.seconds for f in CLASSIC_LATENCIES]

    assert times == sorted(times)


def test_where_other_tables_disagree_the_row_says_so():
    assert "25 ns" in FIGURES["mutex_lock_unlock"].note
    assert "20 ms" in FIGURES["read_1mb_disk"].note


def test_every_source_has_a_citation_and_an_address():
    for figure in CLASSIC_LATENCIES:
        assert figure.source.citation
        assert figure.source.url.startswith("https://")


def test_a_measurement_sits_beside_the_figure_it_compares_to():
    measured = Measured("x", "Mutex here", 20e-9, "timed", compare_to="mutex_lock_unlock")

    rows = latency_rows([measured])

    mutex = next(r for r in rows if r.operation == "Mutex lock/unlock")
    assert mutex.measured_s == 20e-9
    assert mutex.classic_s == pytest.approx(100e-9)
    assert len(rows) == len(CLASSIC_LATENCIES)


def test_a_measurement_without_a_classic_figure_comes_last():
    measured = Measured("pg", "PostgreSQL round trip", 50e-6, "SELECT 1")

    rows = latency_rows([measured])

    assert rows[-1].operation == "PostgreSQL round trip"
    assert rows[-1].classic_s is None
    assert rows[-1].measured_s == 50e-6
