"""Units round-trip: what format writes, parse reads back, to the digits it shows."""

import math

from hypothesis import given
from hypothesis import strategies as st

from millionscale.estimate.units import (
    UnitSystem,
    format_count,
    format_duration,
    format_exact,
    format_size,
    parse_count,
    parse_duration,
    parse_size,
)

HALF_LAST_DIGIT = 5e-4  # four significant digits shown

sizes = st.floats(min_value=0, max_value=1e21, allow_nan=False, allow_infinity=False)
counts = st.floats(min_value=0, max_value=1e15, allow_nan=False, allow_infinity=False)
durations = st.floats(min_value=1e-3, max_value=1e11, allow_nan=False, allow_infinity=False)
systems = st.sampled_from(UnitSystem)


@given(sizes, systems)
def test_a_formatted_size_parses_back(n_bytes, system):
    assert math.isclose(
        parse_size(format_size(n_bytes, system)), n_bytes, rel_tol=HALF_LAST_DIGIT, abs_tol=1e-3
    )


@given(counts)
def test_a_formatted_count_parses_back(value):
    assert math.isclose(
        parse_count(format_count(value)), value, rel_tol=HALF_LAST_DIGIT, abs_tol=1e-3
    )


@given(durations)
def test_a_formatted_duration_parses_back(seconds):
    assert math.isclose(parse_duration(format_duration(seconds)), seconds, rel_tol=HALF_LAST_DIGIT)


@given(st.floats(min_value=1e-6, max_value=1e20, allow_nan=False))
def test_an_exact_format_parses_back_to_six_digits(value):
    assert math.isclose(float(format_exact(value).replace(",", "")), value, rel_tol=5e-6)


@given(
    st.integers(min_value=1, max_value=999),
    st.sampled_from(["B", "KB", "MB", "GB", "TB", "PB", "KiB", "MiB", "GiB", "TiB", "PiB"]),
)
def test_a_whole_size_in_its_own_system_formats_back_to_the_same_text(number, unit):
    system = UnitSystem.BINARY if "i" in unit else UnitSystem.DECIMAL
    text = f"{number} {unit}"

    assert format_size(parse_size(text), system) == text
