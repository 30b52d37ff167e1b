"""A workload names a target and users the photo API accepts, and refuses what it cannot run."""

import re
import secrets

import pytest

from millionscale.bench.dataset import DEFAULT_PASSWORD, username
from millionscale.bench.scenario import MAX_USERS, Workload, signup_name
from millionscale.errors import ConfigError

# The photo API's rules for new accounts (see its signup endpoint).
USERNAME_RULE = re.compile(r"^[a-z0-9_]{3,30}$")
PASSWORD_MIN = 8


def test_seeded_names_and_the_default_password_fit_the_signup_rules():
    assert USERNAME_RULE.match(username(0))
    assert USERNAME_RULE.match(username(999_999))
    assert len(DEFAULT_PASSWORD) >= PASSWORD_MIN


@pytest.mark.parametrize("n", [0, 7, 10**6, 10**19])
def test_names_of_new_accounts_fit_the_signup_rules(n):
    assert USERNAME_RULE.match(signup_name(secrets.token_hex(3), n))


def test_the_target_is_normalised():
    w = Workload(base_url="http://127.0.0.1:8000/", usernames=("user00000",), password="x")

    assert w.base_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("base_url", "users", "needle"),
    [
        pytest.param("http://127.0.0.1:8000", 0, "1 to 100,000 users", id="nobody"),
        pytest.param("http://127.0.0.1:8000", MAX_USERS + 1, "1 to 100,000 users", id="crowd"),
        pytest.param("127.0.0.1:8000", 1, "http:// or https://", id="no-scheme"),
    ],
)
def test_a_workload_it_cannot_run_is_a_config_error(base_url, users, needle):
    with pytest.raises(ConfigError, match=needle):
        Workload(
            base_url=base_url,
            usernames=tuple(username(i) for i in range(users)),
            password=DEFAULT_PASSWORD,
        )
