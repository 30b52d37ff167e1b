"""Settings that make no sense are refused at once, with a message that names the knob."""

import math

import pytest

from millionscale.errors import ConfigError
from millionscale.queue import ScalerSettings


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"min_workers": 0}, "min_workers must be at least 1, not 0"),
        ({"min_workers": 4, "max_workers": 2}, "max_workers (2) is under min_workers (4)"),
        ({"max_step_up": 0}, "max_step_up must be at least 1, not 0"),
        ({"min_workers": 1.5}, "min_workers must be a whole number, not 1.5"),
        ({"max_workers": True}, "max_workers must be a whole number, not True"),
        ({"target_age_s": 0.0}, "target_age_s must be a number of seconds above 0, not 0.0"),
        ({"target_backlog_s": -1}, "target_backlog_s must be a number of seconds above 0"),
        ({"target_age_s": math.nan}, "target_age_s must be a number of seconds above 0, not nan"),
        ({"up_cooldown_s": -1.0}, "up_cooldown_s must be a number of seconds, 0 or more"),
        ({"down_cooldown_s": math.inf}, "down_cooldown_s must be a number of seconds, 0 or more"),
        ({"stabilisation_s": "2m"}, "stabilisation_s must be a number of seconds, 0 or more"),
        ({"tolerance": 1.0}, "tolerance must be from 0 to under 1, not 1.0"),
        ({"quiet_share": 0.0}, "quiet_share must be above 0 and under 1, not 0.0"),
    ],
)
def test_nonsense_is_refused_with_a_message_naming_the_knob(knobs, message):
    with pytest.raises(ConfigError) as refused:
        ScalerSettings(**knobs)

    assert message in str(refused.value)


def test_the_defaults_are_the_documented_ones():
    settings = ScalerSettings()

    assert (settings.min_workers, settings.max_workers) == (1, 8)
    assert (settings.target_age_s, settings.target_backlog_s) == (5.0, 10.0)
    assert (settings.up_cooldown_s, settings.down_cooldown_s) == (10.0, 60.0)
    assert settings.stabilisation_s == 120.0
    assert (settings.max_step_up, settings.tolerance, settings.quiet_share) == (4, 0.1, 0.5)


def test_a_refusal_says_how_to_fix_it():
    with pytest.raises(ConfigError) as refused:
        ScalerSettings(min_workers=0)

    assert refused.value.hint == "the supervisor keeps at least one replica of a worker set"
