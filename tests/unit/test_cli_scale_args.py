"""``millionscale scale`` refuses bad arguments, every one before anything is asked of a
running topology, with exit code 2 and one line saying why."""

import sys

import pytest

from millionscale.cli import main


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["web"], "'web' is not NAME=N"),
        (["web=four"], "'web=four' is not NAME=N"),
        (["Web=2"], "'Web=2' is not NAME=N"),
        (["web=-1"], "'web=-1' is not NAME=N"),
        (["web=0"], "'web=0': the count must be from 1 to 64"),
        (["web=65"], "'web=65': the count must be from 1 to 64"),
        (["web=4", "api"], "'api' is not NAME=N"),  # the good one is not carried out first
        ([], "missing argument 'TIER_OR_NAME=N'"),
    ],
)
def test_a_bad_argument_exits_2_with_its_reason(argv, said, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(sys, "argv", ["millionscale", "scale", *argv])

    with pytest.raises(SystemExit) as exited:
        main()

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert said in err
    assert err.count("\n") == 1


def test_without_a_running_topology_it_says_so(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(
        sys, "argv", ["millionscale", "scale", "web=3", "--state-dir", str(tmp_path)]
    )

    with pytest.raises(SystemExit) as exited:
        main()

    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "error: no topology is running here (run 'millionscale up' first)\n"
    )
