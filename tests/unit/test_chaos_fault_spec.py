"""Fault specs: JSON and KEY=VALUE in, validated records out, the key at fault named."""

import json
import math

import pytest
from chaos_factories import links
from hypothesis import given
from hypothesis import strategies as st

from millionscale.chaos import (
    CONNECTION_KEYS,
    LINK_KEYS,
    Faults,
    Jitter,
    Link,
    NewConnections,
    OpenConnections,
    Partition,
    faults_to_json,
    parse_assignments,
    parse_faults,
    parse_partition,
)
from millionscale.errors import ConfigError


def test_top_level_link_keys_apply_both_ways():
    faults = parse_faults({"latency_ms": 20, "jitter_ms": 5, "jitter": "normal"})

    expected = Link(latency_s=0.02, jitter_s=0.005, jitter=Jitter.NORMAL)
    assert faults == Faults(upstream=expected, downstream=expected)


def test_a_direction_overrides_the_shared_keys_one_by_one():
    faults = parse_faults({"latency_ms": 20, "downstream": {"bytes_per_s": 1000}})

    assert faults.upstream == Link(latency_s=0.02)
    assert faults.downstream == Link(latency_s=0.02, bytes_per_s=1000)


def test_connection_keys_and_an_empty_spec():
    assert parse_faults({"connect_delay_ms": 100, "reset_new": 0.25}) == Faults(
        connect_delay_s=0.1, reset_new=0.25
    )
    assert parse_faults({}) == Faults()


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({"latncy_ms": 5}, "unknown key 'latncy_ms'"),
        ({"upstream": {"reset_new": 0.5}}, "unknown key 'reset_new' in upstream"),
        ({"latency_ms": "fast"}, 'latency_ms must be a number, not "fast"'),
        ({"latency_ms": True}, "latency_ms must be a number"),
        ({"downstream": {"latency_ms": -1}}, "downstream.latency_ms must be 0 to 600000, not -1"),
        ({"latency_ms": 1e9}, "latency_ms must be 0 to 600000"),
        ({"upstream": {"stall_ms": -5}}, "upstream.stall_ms must be 0 to 600000"),
        ({"connect_delay_ms": 700_000}, "connect_delay_ms must be 0 to 600000"),
        ({"jitter": "gaussian"}, "jitter must be 'uniform' or 'normal'"),
        ({"bytes_per_s": 0}, "bytes_per_s must be 1 to 1e12"),
        ({"burst_bytes": 1.5}, "burst_bytes must be a whole number"),
        ({"stall_probability": 2}, "stall_probability must be a probability"),
        ({"reset_new": -0.1}, "reset_new must be a probability"),
        ({"connect_delay_ms": 10**400}, "connect_delay_ms is out of range"),
        ({"downstream": [1]}, "downstream must be a JSON object"),
        ([], "the fault spec must be a JSON object"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_key(spec, named):
    with pytest.raises(ConfigError) as refused:
        parse_faults(spec)

    assert named in refused.value.message


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return a == b


@given(
    upstream=links,
    downstream=links,
    connect=st.floats(0, 600, allow_nan=False),
    reset=st.floats(0, 1, allow_nan=False),
)
def test_the_json_form_reads_back_as_the_same_faults(upstream, downstream, connect, reset):
    faults = Faults(upstream, downstream, connect, reset)

    again = parse_faults(json.loads(json.dumps(faults_to_json(faults))))

    assert _close(faults_to_json(again), faults_to_json(faults))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
keys = st.sampled_from([*LINK_KEYS, *CONNECTION_KEYS, "upstream", "downstream", "other"])


def parsed(spec: object) -> Faults | ConfigError:
    """What parsing ``spec`` gives: faults, or the error it was refused with."""
    try:
        return parse_faults(spec)
    except ConfigError as error:
        return error


@given(spec=json_values | st.dictionaries(keys, json_values | st.dictionaries(keys, json_values)))
def test_any_json_is_either_faults_or_a_config_error(spec):
    result = parsed(spec)

    assert isinstance(result, Faults) or result.message


def test_assignments_spell_the_same_spec():
    spec = parse_assignments(
        ["latency_ms=50", "jitter=normal", "downstream.bytes_per_s=1e5", "burst_bytes=null"]
    )

    assert spec == {
        "latency_ms": 50,
        "jitter": "normal",
        "downstream": {"bytes_per_s": 100000.0},
        "burst_bytes": None,
    }


@pytest.mark.parametrize(
    ("assignment", "named"),
    [
        ("latency_ms", "is not KEY=VALUE"),
        ("=5", "is not KEY=VALUE"),
        ("a.b.c=1", "is not KEY=VALUE"),
        ("sideways.latency_ms=1", "'sideways' is not a direction"),
        ("upstream=5", "upstream needs a key"),
    ],
)
def test_a_bad_assignment_is_refused(assignment, named):
    with pytest.raises(ConfigError) as refused:
        parse_assignments([assignment])

    assert named in refused.value.message


@given(st.lists(st.text(max_size=30), max_size=5))
def test_any_assignment_text_is_either_faults_or_a_config_error(texts):
    spec: object
    try:
        spec = parse_assignments(texts)
    except ConfigError as error:
        spec = error
    result = parsed(spec) if isinstance(spec, dict) else spec

    assert isinstance(result, Faults) or result.message


def test_a_partition_defaults_to_hang_and_freeze():
    assert parse_partition({}) == Partition(NewConnections.HANG, OpenConnections.FREEZE)
    assert parse_partition({"new": "refuse", "existing": "cut"}) == Partition(
        NewConnections.REFUSE, OpenConnections.CUT
    )


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({"new": "drop"}, "new must be 'hang' or 'refuse'"),
        ({"existing": 1}, "existing must be 'freeze' or 'cut'"),
        ({"when": "now"}, "unknown key 'when'"),
        ("hang", "must be a JSON object"),
    ],
)
def test_a_bad_partition_is_refused(spec, named):
    with pytest.raises(ConfigError) as refused:
        parse_partition(spec)

    assert named in refused.value.message


def test_faults_describe_themselves_in_one_line():
    faults = parse_faults(
        {"downstream": {"latency_ms": 50, "jitter_ms": 5}, "bytes_per_s": 1000, "reset_new": 0.1}
    )

    assert faults.describe() == (
        "upstream 1,000 B/s (burst 1500 B); "
        "downstream +50 ms ±5 ms uniform, 1,000 B/s (burst 1500 B); "
        "10.00% of new connections reset"
    )
    assert Faults().describe() == "no faults"
