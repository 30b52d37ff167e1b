"""What the command line prints for an error: one line, message then fix."""

from millionscale.errors import PortInUseError, ServerStartError


def test_one_line_joins_message_and_hint_and_flattens_whitespace():
    error = PortInUseError("port 80\nis taken", hint="choose another")

    assert error.one_line() == "port 80 is taken (choose another)"


def test_server_start_error_carries_the_log_tail():
    error = ServerStartError("postgres exited", hint="read the log", log_tail="FATAL: bad")

    assert error.log_tail == "FATAL: bad"
    assert "FATAL: bad" in error.one_line()
