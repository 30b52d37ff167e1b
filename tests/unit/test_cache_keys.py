"""Cache keys are short non-empty strings; anything else is a CacheError saying why."""

import pytest

from millionscale.cache.keys import MAX_KEY_BYTES, check_key
from millionscale.errors import CacheError


@pytest.mark.parametrize("key", ["user:42", "é" * (MAX_KEY_BYTES // 2), "k" * MAX_KEY_BYTES])
def test_a_valid_key_is_returned_as_it_is(key):
    assert check_key(key) is key


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (42, "a cache key is a str, not a int: 42"),
        (b"user", "a cache key is a str, not a bytes"),
        (("a", 1), "a cache key is a str, not a tuple"),
        (None, "a cache key is a str, not a NoneType"),
        ("", "a cache key cannot be empty"),
        ("k" * (MAX_KEY_BYTES + 1), f"is {MAX_KEY_BYTES + 1} bytes of UTF-8, over {MAX_KEY_BYTES}"),
        ("é" * 126, "is 252 bytes of UTF-8"),
        ("bad\udc80", "is not valid Unicode"),
    ],
)
def test_an_invalid_key_is_a_cache_error_saying_why(key, message):
    with pytest.raises(CacheError) as caught:
        check_key(key)

    assert message in caught.value.message
    assert caught.value.hint


def test_a_str_subclass_is_refused_so_keys_mean_the_same_in_every_process():
    class Key(str):
        pass

    with pytest.raises(CacheError, match="not a Key"):
        check_key(Key("user:1"))


def test_a_long_key_is_shortened_in_the_message():
    with pytest.raises(CacheError) as caught:
        check_key("x" * 10_000)

    assert len(caught.value.message) < 200
