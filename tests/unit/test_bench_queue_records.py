"""A worker's completion record: written by record_line, read back exactly by parse_record."""

import pytest

from millionscale.bench.queue_runs import Done, parse_record, record_line
from millionscale.errors import ConfigError


def test_a_record_reads_back_to_the_same_times():
    line = record_line(7, 1764790000.123456, 1764790000.2345678)

    assert parse_record(line) == Done(7, 1764790000.123456, 1764790000.2345678)


def test_a_record_from_redis_is_bytes():
    assert parse_record(b"3 10.5 10.75") == Done(3, 10.5, 10.75)


def test_latency_is_done_minus_enqueued():
    assert parse_record("0 10.0 10.25").latency_s == pytest.approx(0.25)


@pytest.mark.parametrize(
    "line", ["", "1 2", "1 2 3 4", "x 1.0 2.0", "1 a 2.0", "-1 1.0 2.0", "1 nan 2.0", "1 1.0 inf"]
)
def test_what_is_not_a_record_is_refused_with_the_line(line):
    with pytest.raises(ConfigError, match="record"):
        parse_record(line)
