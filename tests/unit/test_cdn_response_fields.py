"""RFC 9111 §4 and §5.1: the fields the edge sends with a stored response; the rules' settings."""

import math

import pytest
from cdn_factories import NOW, response, stored

from millionscale.cdn.construct import response_fields
from millionscale.cdn.rules import RulesSettings


def tagged():
    return stored(
        response((b"cache-control", b"max-age=60"), (b"surrogate-key", b"a b"), (b"xkey", b"c"))
    )


def test_surrogate_keys_never_reach_a_client():
    names = [name for name, _ in response_fields(tagged(), NOW)]

    assert b"surrogate-key" not in names
    assert b"xkey" not in names
    assert names[-1] == b"age"


def test_a_shield_may_keep_them_for_the_edges_behind_it():
    fields = response_fields(tagged(), NOW, keep_tags=True)

    assert (b"surrogate-key", b"a b") in fields
    assert (b"xkey", b"c") in fields


def test_exactly_one_age_of_whole_seconds():
    # §5.1: "Age = delta-seconds"
    fields = response_fields(stored(response((b"age", b"5"))), NOW + 0.9)

    assert [value for name, value in fields if name == b"age"] == [b"5"]


@pytest.mark.parametrize(
    "knobs",
    [
        {"heuristic_fraction": 1.5},
        {"heuristic_fraction": -0.1},
        {"heuristic_max_s": -1.0},
        {"default_ttl_s": math.nan},
        {"default_stale_if_error_s": -5.0},
        {"cdn_cache_control_target": b"CDN-Cache-Control"},
        {"cdn_cache_control_target": b""},
    ],
)
def test_settings_refuse_nonsense(knobs):
    with pytest.raises(ValueError, match=r"must|is a"):
        RulesSettings(**knobs)
