"""wrk's output read: throughput, errors summed, the latency distribution in milliseconds."""

import argparse

import pytest

from millionscale.bench.wrk import Patience, WrkOutput, add_patience_flags, parse_wrk

# As wrk 4.1 prints a run with --latency (figures made up).
WITH_LATENCY = """\
Running 10s test @ http://127.0.0.1:8080/c/1k/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   635.91us  255.51us   9.78ms   87.17%
    Req/Sec    70.23k     3.52k   74.69k    73.00%
  Latency Distribution
     50%  593.00us
     75%  700.00us
     90%  869.00us
     99%    1.53ms
  702793 requests in 10.01s, 80.43MB read
Requests/sec:  70216.64
Transfer/sec:      8.04MB
"""

WITH_ERRORS = """\
Running 2s test @ http://127.0.0.1:8080/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.20s   100.00ms   1.90s    90.00%
    Req/Sec    10.00      2.00     20.00     80.00%
  20 requests in 2.00s, 2.00KB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec:      9.99
Transfer/sec:      1.00KB
"""


def test_a_run_with_latency_gives_its_throughput_and_percentiles_in_milliseconds():
    assert parse_wrk(WITH_LATENCY) == WrkOutput(70216.64, 0, p50_ms=0.593, p99_ms=1.53)


def test_socket_errors_and_non_2xx_answers_are_summed_and_no_distribution_is_none():
    assert parse_wrk(WITH_ERRORS) == WrkOutput(9.99, 15)


def test_a_latency_in_seconds_is_read_in_milliseconds():
    out = WITH_LATENCY.replace("99%    1.53ms", "99%    2.50s")

    assert parse_wrk(out).p99_ms == 2500.0


@pytest.mark.parametrize(
    "out", ["", "unable to connect to 127.0.0.1:1 Connection refused\n", "Requests/sec: n/a"]
)
def test_output_without_a_throughput_is_refused(out):
    with pytest.raises(ValueError, match="cannot read wrk's output"):
        parse_wrk(out)


def test_a_latency_in_a_unit_it_does_not_know_is_refused():
    with pytest.raises(ValueError, match="not a latency"):
        parse_wrk(WITH_LATENCY.replace("99%    1.53ms", "99%    1.53ns"))


def test_the_patience_flags_give_the_patience():
    parser = argparse.ArgumentParser()
    add_patience_flags(parser)

    assert Patience.from_flags(parser.parse_args([])) == Patience()
    assert Patience.from_flags(parser.parse_args(["--attempts", "1", "--quiet-wait-s", "0"])) == (
        Patience(1, 0)
    )
