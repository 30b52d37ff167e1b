"""Flags override the scenario file; measured capacities override both; origins are kept."""

import pytest

from millionscale.errors import ConfigError
from millionscale.estimate import Calibration, parse_flags, parse_scenario, resolve_inputs

FILE = parse_scenario(
    '[users]\nmau = "300M"\ndaily_active_fraction = 0.5\n[traffic]\npeak_factor = 3\n'
)


def test_a_flag_beats_the_file():
    resolved = resolve_inputs(FILE, parse_flags({"peak_factor": "2.5"}))

    assert resolved.inputs.peak_factor == 2.5
    assert resolved.origin["peak_factor"] == "flag"
    assert resolved.origin["mau"] == "file"
    assert resolved.origin["replication"] == "default"


def test_dau_on_the_command_line_replaces_the_files_mau():
    resolved = resolve_inputs(FILE, parse_flags({"dau": "1M"}))

    assert resolved.inputs.dau == 1e6
    assert resolved.inputs.mau is None
    assert resolved.inputs.daily_active_fraction is None


def test_mau_on_the_command_line_replaces_a_files_dau():
    file = parse_scenario('[users]\ndau = "1M"\n')

    resolved = resolve_inputs(file, parse_flags({"mau": "10M", "daily_active_fraction": "20%"}))

    assert resolved.inputs.dau is None
    assert resolved.inputs.mau == 10e6


def test_both_dau_and_mau_flags_are_an_error():
    with pytest.raises(ConfigError, match="--dau and --mau: both given"):
        resolve_inputs(None, parse_flags({"dau": "1M", "mau": "2M"}))


@pytest.mark.parametrize(
    ("flag", "text", "message"),
    [
        ("dau", "-5", "--dau: must be greater than 0, got -5"),
        ("dau", "0", "--dau: must be greater than 0, got 0"),
        ("media_fraction", "1.5", "--media-fraction: '1.5' is outside [0, 1]"),
        ("media_size", "5 parsecs", "--media-size: unknown size unit 'parsecs'"),
        ("retention", "5 eons", "--retention: unknown time unit 'eons'"),
        ("peak_factor", "0.5", "--peak-factor: must be at least 1, got 0.5"),
    ],
)
def test_a_bad_flag_is_named(flag, text, message):
    with pytest.raises(ConfigError) as caught:
        parse_flags({flag: text})

    assert caught.value.message.startswith(message)
    assert "accepted: " in caught.value.hint


def test_a_measured_capacity_beats_the_file_and_is_marked():
    file = parse_scenario(
        '[users]\ndau = "1M"\n[capacity]\nweb_rps = 5000\ndb_replica_rps = 9000\n'
    )
    calibration = Calibration({"web_rps": 190.0}, {"web_rps": "measured here: x.json"}, "x.json")

    resolved = resolve_inputs(file, {}, calibration)

    assert resolved.inputs.web_rps == 190.0
    assert resolved.inputs.db_replica_rps == 9000
    assert resolved.inputs.measured == {"web_rps": "measured here: x.json"}
    assert resolved.origin["web_rps"] == "measured"
