"""The edge's settings: flags parse into EdgeSettings; a bad value is a ConfigError
naming the flag (the process turns it into one line and exit 2)."""

from __future__ import annotations

import argparse

import pytest

from millionscale.cdn.settings import EdgeSettings, add_flags, from_flags
from millionscale.errors import ConfigError


def parse(*argv: str) -> EdgeSettings:
    parser = argparse.ArgumentParser()
    add_flags(parser)
    return from_flags(parser.parse_args(argv))


def test_flags_set_the_knobs_and_sizes_take_units() -> None:
    # Act
    settings = parse(
        "--origin",
        "http://127.0.0.1:9000",
        "--memory",
        "64MiB",
        "--max-object",
        "1MiB",
        "--stale-if-error",
        "300",
        "--keep-surrogate-keys",
        "--name",
        "shield",
    )
    # Assert
    assert settings.memory_bytes == 64 << 20
    assert settings.max_object_bytes == 1 << 20
    assert settings.stale_if_error_s == 300.0
    assert settings.keep_surrogate_keys is True
    assert settings.name == "shield"
    assert settings.origin_host == b"127.0.0.1:9000"


def test_unset_flags_keep_the_defaults() -> None:
    # Act
    settings = parse("--origin", "http://o:1")
    # Assert
    assert settings == EdgeSettings(origin="http://o:1")
    assert (settings.connect_timeout_s, settings.read_timeout_s) == (2.0, 10.0)


@pytest.mark.parametrize(
    ("origin", "extra"),
    [
        ("ftp://o:1", {}),
        ("http://o:1/path", {}),
        ("http://", {}),
        ("http://o:1", {"read_timeout_s": 0.0}),
        ("http://o:1", {"memory_bytes": 0}),
        ("http://o:1", {"disk_bytes": 1 << 20}),  # without a spill directory
        ("http://o:1", {"connect_timeout_s": float("nan")}),
    ],
)
def test_bad_settings_are_config_errors(origin: str, extra: dict[str, object]) -> None:
    # Act / Assert
    with pytest.raises(ConfigError):
        EdgeSettings(origin=origin, **extra)  # type: ignore[arg-type]


def test_a_size_without_a_known_unit_is_refused_by_the_parser() -> None:
    # Arrange
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_flags(parser)
    # Act / Assert
    with pytest.raises(argparse.ArgumentError):
        parser.parse_args(["--origin", "http://o:1", "--memory", "lots"])
