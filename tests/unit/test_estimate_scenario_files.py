"""Scenario files: the shipped ones load; every mistake names the file, line, key and forms."""

from pathlib import Path
from textwrap import dedent

import pytest

from millionscale.errors import ConfigError
from millionscale.estimate import estimate, load_scenario, parse_scenario, resolve_inputs

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_scenario(dedent(text), "s.toml")
    return caught.value


@pytest.mark.parametrize("name", ["twitter", "photos-1m", "photos-10m", "chat", "tinyurl"])
def test_each_shipped_scenario_loads_and_estimates(name):
    scenario = load_scenario(SCENARIOS / f"{name}.toml")

    result = estimate(resolve_inputs(scenario, {}).inputs)

    assert scenario.name == name
    assert scenario.source
    assert result.value("web") >= 1


def test_photos_at_10m_is_photos_at_1m_times_ten():
    one = estimate(resolve_inputs(load_scenario(SCENARIOS / "photos-1m.toml"), {}).inputs)
    ten = estimate(resolve_inputs(load_scenario(SCENARIOS / "photos-10m.toml"), {}).inputs)

    assert ten.value("qps_peak") == pytest.approx(10 * one.value("qps_peak"))
    assert ten.value("storage_retention") == pytest.approx(10 * one.value("storage_retention"))


def test_values_take_units_and_sections_map_to_inputs():
    scenario = parse_scenario(
        dedent(
            """\
            [users]
            mau = "300M"
            daily_active_fraction = "50%"
            [storage]
            media_size = "1MiB"
            retention = "30d"
            [cache]
            hot_fraction = 0.1
            """
        )
    )

    assert scenario.values() == {
        "mau": 300e6,
        "daily_active_fraction": 0.5,
        "media_size": 1_048_576,
        "retention": 30 * 86_400,
        "cache_hot_fraction": 0.1,
    }


def test_an_unknown_unit_names_line_key_and_accepted_forms():
    error = _error(
        """\
        [users]
        dau = "1M"

        [storage]
        media_size = "5 parsecs"
        """
    )

    assert (
        error.message == "s.toml:5: storage.media_size: unknown size unit 'parsecs' in '5 parsecs'"
    )
    assert error.hint.startswith("accepted: a size such as 140B, 1.5TB or 500KiB")


def test_an_unknown_key_is_named_with_a_guess():
    error = _error(
        """\
        [traffic]
        writes_per_usr = 2
        """
    )

    assert error.message == "s.toml:2: traffic.writes_per_usr: unknown key"
    assert error.hint.startswith("did you mean 'writes_per_user'? allowed: ")


def test_an_unknown_table_is_named():
    error = _error(
        """\
        [trafic]
        writes_per_user = 2
        """
    )

    assert error.message == "s.toml:1: trafic: unknown key"
    assert "did you mean 'traffic'?" in error.hint


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            "[users]\ndau = -5\n", "s.toml:2: users.dau: must be greater than 0, got -5", id="neg"
        ),
        pytest.param(
            "[users]\ndau = 0\n", "s.toml:2: users.dau: must be greater than 0", id="zero"
        ),
        pytest.param(
            '[users]\nmau = "1M"\ndaily_active_fraction = 1.5\n',
            "s.toml:3: users.daily_active_fraction: 1.5 is outside [0, 1]",
            id="fraction",
        ),
        pytest.param(
            "[storage]\nretention = 5\n",
            "s.toml:2: storage.retention: 5 has no time unit",
            id="unitless",
        ),
        pytest.param(
            "[users]\ndau = true\n", "s.toml:2: users.dau: expected a number or text", id="bool"
        ),
        pytest.param("users = 5\n", "s.toml:1: users: must be a table", id="not-table"),
        pytest.param(
            '[users]\ndau = "1M"\nmau = "2M"\n',
            "s.toml:3: users: both dau and mau given",
            id="both",
        ),
        pytest.param(
            '[users]\nmau = "2M"\n',
            "s.toml:2: users.daily_active_fraction: missing (mau needs it)",
            id="no-fraction",
        ),
    ],
)
def test_bad_values_name_line_and_key(body, message):
    assert _error(body).message.startswith(message)


def test_malformed_toml_names_the_line():
    error = _error(
        """\
        [users
        dau = 1
        """
    )

    assert error.message.startswith("s.toml:1: not valid TOML: ")
    assert error.hint == "fix the TOML syntax at that line"


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match=r"scenario file .*nope.toml does not exist"):
        load_scenario(tmp_path / "nope.toml")


def test_the_name_defaults_to_the_file_stem(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[users]\ndau = "1M"\n')

    assert load_scenario(path).name == "mine"
