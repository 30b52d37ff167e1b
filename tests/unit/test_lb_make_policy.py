"""Policies by name, as a topology file names them; a wrong name is a clear error."""

import pytest

from millionscale.errors import ConfigError
from millionscale.lb import DEFAULT_POLICY, POLICIES, make_policy


@pytest.mark.parametrize("name", POLICIES)
def test_each_name_makes_the_policy_of_that_name(name):
    assert make_policy(name).name == name


def test_the_default_is_p2c_over_ewma():
    assert DEFAULT_POLICY == "p2c-ewma" == make_policy().name


def test_an_unknown_name_says_which_names_exist():
    with pytest.raises(ConfigError) as error:
        make_policy("random")

    assert error.value.one_line() == (
        "unknown balancing policy 'random' (use one of: p2c-ewma, round-robin, weighted, "
        "least-outstanding, consistent-hash)"
    )
