"""The JSON codec: what crosses into Redis is JSON or a clear error, and garbage reads as garbage."""

import math

import pytest

from millionscale.cache.codec import BytesCodec, JsonCodec, UndecodableValue
from millionscale.errors import CacheError


@pytest.mark.parametrize(
    "value", [{"a": [1, 2.5, None, True]}, "é ✓", 0, [], {"nested": {"deep": ["x"]}}]
)
def test_json_values_come_back_equal(value):
    codec = JsonCodec()

    assert codec.decode(codec.encode(value, "k")) == value


def test_a_tuple_comes_back_as_a_list_as_json_says():
    codec = JsonCodec()

    assert codec.decode(codec.encode((1, 2), "k")) == [1, 2]


@pytest.mark.parametrize(
    ("value", "what"),
    [({1, 2}, "set"), (math.nan, "float"), (object(), "object"), (b"raw", "bytes")],
)
def test_a_value_json_cannot_encode_is_a_cache_error_naming_the_key(value, what):
    with pytest.raises(CacheError) as caught:
        JsonCodec().encode(value, "user:42")

    assert f"cannot cache the value for key 'user:42': JSON cannot encode a {what}" in str(
        caught.value
    )
    assert "codec" in caught.value.hint
    assert isinstance(caught.value, ValueError)


def test_a_cycle_is_a_cache_error_not_a_crash():
    cycle: list = []
    cycle.append(cycle)

    with pytest.raises(CacheError, match="JSON cannot encode a list"):
        JsonCodec().encode(cycle, "k")


@pytest.mark.parametrize("data", [b"\xff\xfe", b"{not json", b"[" * 100_000, b""])
def test_bytes_that_are_not_json_are_undecodable_never_another_error(data):
    with pytest.raises(UndecodableValue):
        JsonCodec().decode(data)


def test_the_bytes_codec_keeps_bytes_and_refuses_anything_else():
    codec = BytesCodec()

    assert codec.decode(codec.encode(bytearray(b"ab"), "k")) == b"ab"
    with pytest.raises(CacheError, match="takes bytes, not a str"):
        codec.encode("text", "k")
