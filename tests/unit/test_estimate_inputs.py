"""Inputs are checked when made: users, fractions in [0, 1], bounds, each error naming the field."""

import pytest

from millionscale.errors import ConfigError
from millionscale.estimate import FIELDS, Inputs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({}, "no users given", id="no-users"),
        pytest.param({"dau": 0}, "dau: must be greater than 0, got 0", id="zero-dau"),
        pytest.param({"dau": -5}, "dau: must be greater than 0, got -5", id="negative-dau"),
        pytest.param({"dau": 1, "mau": 2}, "both dau and mau given", id="both"),
        pytest.param({"mau": 1e6}, "mau given without daily_active_fraction", id="no-fraction"),
        pytest.param(
            {"mau": 1e6, "daily_active_fraction": 1.5},
            "daily_active_fraction: 1.5 is outside [0, 1]",
            id="fraction-above-one",
        ),
        pytest.param(
            {"dau": 1, "media_fraction": -0.1},
            "media_fraction: -0.1 is outside [0, 1]",
            id="negative-fraction",
        ),
        pytest.param({"dau": 1, "peak_factor": 0.5}, "peak_factor: must be at least 1", id="peak"),
        pytest.param({"dau": 1, "replication": 0}, "replication: must be at least 1", id="copies"),
        pytest.param({"dau": 1, "web_rps": 0}, "web_rps: must be greater than 0", id="capacity"),
        pytest.param(
            {"dau": 1, "retention": 0}, "retention: must be greater than 0", id="retention"
        ),
        pytest.param(
            {"dau": 1, "measured": {"dau": "x"}}, "measured: not capacities: dau", id="measured"
        ),
    ],
)
def test_bad_inputs_raise_a_config_error_naming_the_field(kwargs, message):
    with pytest.raises(ConfigError) as caught:
        Inputs(**kwargs)

    assert caught.value.message.startswith(message)
    assert caught.value.hint


def test_defaults_are_the_table_defaults_and_each_has_a_source():
    inputs = Inputs(dau=1)

    for field in FIELDS:
        if field.default is not None:
            assert getattr(inputs, field.name) == field.default, field.name
        assert field.source, field.name


def test_capacities_are_assumed_unless_measured():
    assert Inputs(dau=1).measured == {}
    assert Inputs(dau=1, measured={"web_rps": "bench"}).measured == {"web_rps": "bench"}


def test_inputs_too_large_for_floating_point_are_a_config_error():
    from millionscale.estimate import estimate

    with pytest.raises(ConfigError, match="too large to compute: media_per_day"):
        estimate(Inputs(dau=1e300, media_fraction=1, media_size=1e300))
