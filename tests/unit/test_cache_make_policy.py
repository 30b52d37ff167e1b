"""Policies by name, as a topology file or the command line would give them."""

import pytest

from millionscale.cache import DEFAULT_POLICY, POLICIES, L1Cache, Lfu, Lru, WTinyLfu, make_policy
from millionscale.cache.policy import EvictionPolicy
from millionscale.errors import ConfigError


@pytest.mark.parametrize(("name", "kind"), [("lru", Lru), ("lfu", Lfu), ("w-tinylfu", WTinyLfu)])
def test_each_name_makes_its_policy(name, kind):
    policy: EvictionPolicy[str] = make_policy(name, 10, 1_000)

    assert isinstance(policy, kind)
    assert policy.name == name


def test_the_default_is_w_tinylfu_and_listed_first():
    assert DEFAULT_POLICY == POLICIES[0] == "w-tinylfu"
    assert L1Cache(max_entries=10, max_bytes=1_000).statistics().policy == "w-tinylfu"


def test_an_unknown_name_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError) as raised:
        make_policy("arc", 10, 1_000)

    assert "arc" in raised.value.message
    assert "w-tinylfu, lru, lfu" in raised.value.hint
