"""Invalidation messages: any key survives the trip; what cannot be read means 'everything'."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.cache.invalidation import (
    InvalidateKeys,
    NewGeneration,
    Unreadable,
    encode_generation,
    encode_keys,
    parse_message,
)

keys = st.text(min_size=1, max_size=40).filter(
    lambda key: key.encode("utf-8", "ignore") == key.encode("utf-8", "surrogatepass")
)


@given(st.lists(keys, min_size=1, max_size=5))
def test_keys_come_back_as_they_were_sent(sent):
    assert parse_message(encode_keys(sent)) == InvalidateKeys(tuple(sent))


def test_a_generation_comes_back():
    assert parse_message(encode_generation(7)) == NewGeneration(7)


def test_the_bump_script_s_message_is_a_generation():
    assert parse_message(b'["g",12]') == NewGeneration(12)


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff", b"{}", b"[]", b'["i"]', b'["i", 3]', b'["g", -1]', b'["g", "7"]', b'["x", "k"]'],
)
def test_anything_else_is_unreadable(data):
    assert isinstance(parse_message(data), Unreadable)
