"""Every millionscale error prints as one line: the message, then how to fix it."""

import pytest

from millionscale.errors import (
    BinaryNotFoundError,
    ConfigError,
    MillionscaleError,
    PortInUseError,
    ServerError,
    ServerStartError,
    SupervisorError,
    TopologyError,
    UnknownProcessError,
)


def test_one_line_puts_the_hint_in_parentheses_after_the_message():
    error = TopologyError("t.toml:3: processes.web: unknown key", hint="did you mean 'tier'?")

    assert error.one_line() == "t.toml:3: processes.web: unknown key (did you mean 'tier'?)"


def test_one_line_without_a_hint_is_the_message_alone():
    error = MillionscaleError("something went wrong")

    assert error.one_line() == "something went wrong"


def test_one_line_folds_a_multi_line_message_onto_one_line():
    error = ConfigError("first line\n   second line\tthird", hint="fix it")

    assert error.one_line() == "first line second line third (fix it)"


def test_the_message_and_hint_stay_available_as_attributes():
    error = PortInUseError("port taken", hint="choose another")

    assert (error.message, error.hint, str(error)) == ("port taken", "choose another", "port taken")


def test_a_server_start_error_carries_the_tail_of_the_engine_log():
    error = ServerStartError(
        "postgres exited with code 1", hint="read its log", log_tail="FATAL: lock file exists"
    )

    assert error.message == (
        "postgres exited with code 1; last lines of its log: FATAL: lock file exists"
    )
    assert error.log_tail == "FATAL: lock file exists"
    assert error.one_line() == (
        "postgres exited with code 1; last lines of its log: FATAL: lock file exists (read its log)"
    )


def test_a_server_start_error_without_a_log_tail_is_the_message_alone():
    error = ServerStartError("redis did not answer within 30 s")

    assert error.one_line() == "redis did not answer within 30 s"
    assert error.log_tail == ""


@pytest.mark.parametrize(
    ("error_type", "parent"),
    [
        (ConfigError, MillionscaleError),
        (TopologyError, ConfigError),
        (PortInUseError, ConfigError),
        (UnknownProcessError, ConfigError),
        (ServerError, MillionscaleError),
        (BinaryNotFoundError, ServerError),
        (ServerStartError, ServerError),
        (SupervisorError, MillionscaleError),
    ],
)
def test_each_error_sits_where_the_tree_says(error_type, parent):
    assert issubclass(error_type, parent)
