"""The command line prints a user's error on one line, and lets a bug end in a traceback."""

from collections.abc import Callable

import pytest

from millionscale import cli
from millionscale.cli import _app
from millionscale.errors import IllegalTransition, SwitchoverRefused
from millionscale.statetable import StateTable


def raising(error: BaseException) -> Callable[..., int]:
    def app(**_options: object) -> int:
        raise error

    return app


def test_a_user_error_is_one_line_and_exit_code_2(monkeypatch, capsys):
    monkeypatch.setattr(_app, "app", raising(SwitchoverRefused("r1 is already the primary")))

    with pytest.raises(SystemExit) as exited:
        cli.main()

    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith("error: r1 is already the primary (see ")


def test_an_illegal_transition_is_not_printed_as_a_user_error(monkeypatch, capsys):
    table = StateTable({("up", "drain"): "draining"}, name="backend health")
    with pytest.raises(IllegalTransition) as raised:
        table.fire("up", "resume")
    monkeypatch.setattr(_app, "app", raising(raised.value))

    with pytest.raises(IllegalTransition, match="backend health: no transition resume from up"):
        cli.main()

    assert "error:" not in capsys.readouterr().err
