"""The scenario mix: parsing "name=weight,..." and drawing actions with a seeded RNG."""

import contextlib
import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.bench.scenario import ACTIONS, DEFAULT_MIX, Mix, parse_mix
from millionscale.errors import ConfigError


def test_the_default_mix_is_read_heavy():
    assert str(DEFAULT_MIX) == "timeline=70,photo=15,like=8,post=5,signup=2"
    assert DEFAULT_MIX.share("timeline") == pytest.approx(0.70)
    assert DEFAULT_MIX.share("signup") == pytest.approx(0.02)


def test_a_mix_parses_with_spaces_and_decimal_weights():
    mix = parse_mix(" timeline = 3.5 , like=1 ")

    assert mix.weights == (("timeline", 3.5), ("like", 1.0))
    assert mix.share("photo") == 0.0


def test_the_default_mix_round_trips_through_its_text():
    assert parse_mix(str(DEFAULT_MIX)) == DEFAULT_MIX


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("timeline=1,,like=2", "empty entry", id="empty-entry"),
        pytest.param("timeline", "'timeline' is not name=weight", id="no-equals"),
        pytest.param("feed=3", "'feed=3' names no known action", id="unknown"),
        pytest.param("like=1,like=2", "'like=2' repeats 'like'", id="repeat"),
        pytest.param("post=-1", "'post=-1' needs a weight", id="negative"),
        pytest.param("post=lots", "'post=lots' needs a weight", id="not-a-number"),
        pytest.param("post=nan", "'post=nan' needs a weight", id="nan"),
        pytest.param("post=inf", "'post=inf' needs a weight", id="infinite"),
        pytest.param("post=0,like=0", "no weight to any action", id="all-zero"),
    ],
)
def test_bad_mixes_name_the_bad_part(text, needle):
    with pytest.raises(ConfigError, match=needle) as caught:
        parse_mix(text)

    assert caught.value.hint


@given(st.text())
def test_arbitrary_text_parses_or_raises_config_error(text):
    try:
        mix = parse_mix(text)
    except ConfigError:
        return
    assert mix.total > 0


@given(
    st.lists(
        st.tuples(
            st.sampled_from(ACTIONS),
            st.one_of(st.integers(-5, 100).map(str), st.floats().map(repr), st.text(max_size=4)),
        ),
        max_size=7,
    )
)
def test_near_miss_mixes_parse_or_raise_config_error(pairs):
    text = ",".join(f"{name}={weight}" for name, weight in pairs)
    with contextlib.suppress(ConfigError):
        parse_mix(text)


def test_draws_follow_the_weights():
    mix = parse_mix("timeline=70,photo=20,like=10,post=0")
    rng = random.Random(1)

    counts = Counter(mix.choose(rng) for _ in range(20_000))

    assert counts["post"] == 0
    assert counts["timeline"] / 20_000 == pytest.approx(0.70, abs=0.02)
    assert counts["photo"] / 20_000 == pytest.approx(0.20, abs=0.02)
    assert counts["like"] / 20_000 == pytest.approx(0.10, abs=0.02)


def test_a_seed_fixes_the_sequence_of_actions():
    a, b, c = random.Random(42), random.Random(42), random.Random(43)

    first = [DEFAULT_MIX.choose(a) for _ in range(200)]

    assert first == [DEFAULT_MIX.choose(b) for _ in range(200)]
    assert first != [DEFAULT_MIX.choose(c) for _ in range(200)]


def test_a_mix_with_no_positive_weight_cannot_be_built():
    with pytest.raises(ConfigError):
        Mix((("like", 0.0),))
