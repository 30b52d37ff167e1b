"""Reading sizes, counts, durations and fractions: KB is 1000 bytes, KiB is 1024, always."""

import pytest

from millionscale.errors import ConfigError
from millionscale.estimate.units import (
    POWERS_OF_TWO,
    UnitSystem,
    format_bits_per_s,
    format_count,
    format_duration,
    format_exact,
    format_latency,
    format_size,
    parse_count,
    parse_duration,
    parse_fraction,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5TB", 1.5e12),
        ("500KiB", 512_000),
        ("500 KB", 500_000),
        ("500kb", 500_000),
        ("500kib", 512_000),
        ("1 MB", 1_000_000),
        ("1MiB", 1_048_576),
        ("140B", 140),
        ("140 bytes", 140),
        ("2 PiB", 2 * 2**50),
        (140, 140),
        (1.5, 1.5),
        ("1,024", 1024),
    ],
)
def test_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("150M", 150e6),
        ("2B", 2e9),
        ("2.5K", 2500),
        ("300 million", 300e6),
        ("1,500,000", 1.5e6),
        ("1_500_000", 1.5e6),
        ("1.5e6", 1.5e6),
        ("3T", 3e12),
        (42, 42),
    ],
)
def test_counts(text, expected):
    assert parse_count(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("5y", 5 * 365),
        ("30d", 30),
        ("2w", 14),
        ("1mo", 30),
        ("10 years", 3650),
        ("36h", 1.5),
    ],
)
def test_durations(text, days):
    assert parse_duration(text) == pytest.approx(days * 86_400)


def test_minutes_are_min_and_seconds_are_s():
    assert parse_duration("90min") == 5400
    assert parse_duration("90s") == 90


@pytest.mark.parametrize(("text", "expected"), [("0.5", 0.5), ("50%", 0.5), (1, 1.0), ("0", 0)])
def test_fractions(text, expected):
    assert parse_fraction(text) == expected


@pytest.mark.parametrize(
    ("parse", "text", "needle"),
    [
        pytest.param(parse_size, "5 parsecs", "unknown size unit 'parsecs'", id="parsecs"),
        pytest.param(parse_size, "5 K", "unknown size unit 'K'", id="bare-prefix"),
        pytest.param(parse_size, "five MB", "cannot read 'five MB'", id="words"),
        pytest.param(parse_size, True, "expected a number or text", id="boolean"),
        pytest.param(parse_count, "3 dozen", "unknown count unit 'dozen'", id="dozen"),
        pytest.param(parse_count, "nan", "cannot read 'nan'", id="nan"),
        pytest.param(parse_count, "1e999", "not a finite number", id="infinite"),
        pytest.param(parse_duration, "5", "has no time unit", id="no-unit"),
        pytest.param(parse_duration, "5m", "ambiguous: minutes or months", id="m"),
        pytest.param(parse_duration, "5 eons", "unknown time unit 'eons'", id="eons"),
        pytest.param(parse_fraction, "1.5", "outside [0, 1]", id="above-one"),
        pytest.param(parse_fraction, "-0.1", "outside [0, 1]", id="negative"),
        pytest.param(parse_fraction, "150%", "outside [0, 1]", id="percent"),
        pytest.param(parse_fraction, "0.5x", "unknown unit 'x'", id="unit"),
    ],
)
def test_what_cannot_be_read_is_a_config_error_listing_the_accepted_forms(parse, text, needle):
    with pytest.raises(ConfigError) as caught:
        parse(text)

    assert needle in caught.value.message
    assert "accepted: " in caught.value.hint


def test_the_size_hint_names_both_unit_systems():
    with pytest.raises(ConfigError) as caught:
        parse_size("5 parsecs")

    assert "KB" in caught.value.hint
    assert "KiB" in caught.value.hint


@pytest.mark.parametrize(
    ("n_bytes", "system", "text"),
    [
        (30e12, UnitSystem.DECIMAL, "30 TB"),
        (54.75e15, UnitSystem.DECIMAL, "54.75 PB"),
        (1.5e12, UnitSystem.DECIMAL, "1.5 TB"),
        (140, UnitSystem.DECIMAL, "140 B"),
        (512_000, UnitSystem.BINARY, "500 KiB"),
        (30e12, UnitSystem.BINARY, "27.28 TiB"),
        (999_999, UnitSystem.DECIMAL, "1 MB"),
        (0, UnitSystem.DECIMAL, "0 B"),
    ],
)
def test_formatting_sizes(n_bytes, system, text):
    assert format_size(n_bytes, system) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (150e6, "150M"),
        (2e9, "2B"),
        (3472.2222, "3,472"),
        (86_400, "86,400"),
        (0.1, "0.1"),
        (19.2901, "19.29"),
        (1_666_666_667, "1.667B"),
        (999_999_999, "1B"),
    ],
)
def test_formatting_counts(value, text):
    assert format_count(value) == text


def test_formatting_durations_latencies_and_link_speeds():
    assert format_duration(5 * 365 * 86_400) == "5y"
    assert format_duration(30 * 86_400) == "30d"
    assert format_latency(0.5e-9) == "0.5 ns"
    assert format_latency(150e-6) == "150 µs"
    assert format_bits_per_s(12.5e6) == "100 Mbit/s"


def test_exact_format_keeps_every_integer_digit():
    assert format_exact(54.75e15) == "54,750,000,000,000,000"
    assert format_exact(3472.2222222) == "3,472.22"
    assert format_exact(0.018518518) == "0.0185185"


def test_the_powers_of_two_table():
    """Xu (2020), ch. 2, Table 2-1: 2^10 ~ a thousand (1 KB) ... 2^50 ~ a quadrillion (1 PB)."""
    table = [(p.power, p.exact, p.decimal_unit, p.binary_unit) for p in POWERS_OF_TWO]

    assert table == [
        (10, 1024, "KB", "KiB"),
        (20, 1_048_576, "MB", "MiB"),
        (30, 1_073_741_824, "GB", "GiB"),
        (40, 1_099_511_627_776, "TB", "TiB"),
        (50, 1_125_899_906_842_624, "PB", "PiB"),
    ]
    for p in POWERS_OF_TWO:
        assert parse_size(f"1 {p.binary_unit}") == p.exact
        assert parse_size(f"1 {p.decimal_unit}") == 10 ** (3 * p.power // 10)
