"""LSNs: PostgreSQL's text form and the integer it names, both ways; garbage is refused clearly."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.db import LSN_MAX, format_lsn, parse_lsn
from millionscale.errors import DatabaseError


def test_the_high_and_low_halves_are_hexadecimal():
    assert parse_lsn("16/B374D848") == 0x16_B374D848


def test_it_prints_as_postgresql_does():
    assert format_lsn(0x16_B374D848) == "16/B374D848"
    assert format_lsn(0) == "0/0"


def test_lower_case_and_leading_zeros_are_accepted():
    assert parse_lsn("a/3000b48") == parse_lsn("0A/03000B48") == 0xA_03000B48


@given(st.integers(min_value=0, max_value=LSN_MAX))
def test_format_then_parse_is_the_identity(value):
    assert parse_lsn(format_lsn(value)) == value


@given(st.integers(min_value=0, max_value=LSN_MAX), st.integers(min_value=0, max_value=LSN_MAX))
def test_integers_order_as_wal_positions(a, b):
    assert (a < b) == (parse_lsn(format_lsn(a)) < parse_lsn(format_lsn(b)))


@pytest.mark.parametrize(
    "garbage", ["", "16", "16/", "/B374D848", "G/0", "1/2/3", " 0/1", "123456789/0", "0x1/0"]
)
def test_garbage_is_a_database_error_that_quotes_it(garbage):
    with pytest.raises(DatabaseError, match="not a PostgreSQL LSN") as caught:
        parse_lsn(garbage)

    assert repr(garbage[:40]) in caught.value.message
    assert "16/B374D848" in caught.value.hint


@given(st.text(max_size=30))
def test_any_text_parses_or_raises_a_database_error(text):
    try:
        value = parse_lsn(text)
    except DatabaseError:
        return
    assert 0 <= value <= LSN_MAX


@pytest.mark.parametrize("value", [-1, LSN_MAX + 1])
def test_out_of_range_integers_do_not_format(value):
    with pytest.raises(DatabaseError, match="out of range"):
        format_lsn(value)
