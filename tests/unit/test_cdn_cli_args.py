"""``millionscale cdn purge`` refuses bad arguments before anything is asked of a running
topology, with exit code 2 and one line saying why."""

import sys

import pytest

from millionscale.cli import main


def run(monkeypatch, capsys, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["millionscale", "cdn", "purge", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    assert isinstance(code, int)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        ([], "none of --url, --prefix and --tag given: a purge names one"),
        (["--tag", "a", "--url", "/b"], "several of --url, --prefix and --tag given"),
        (["--url", "static/app.css"], "'static/app.css' is not a path"),
        (["--prefix", ""], "a prefix to purge must be 1 to 8192 bytes long"),
        (["--tag", "photo 12"], "'photo 12' cannot be a tag: a tag has no spaces"),
        (["--tag"], "option '--tag' requires an argument"),
        (["--soft=yes", "--tag", "t"], "option '--soft' does not take a value"),
        (["--everything"], "no such option: --everything"),
    ],
)
def test_a_bad_argument_exits_2_with_its_reason(argv, said, monkeypatch, capsys, tmp_path):
    code, err = run(monkeypatch, capsys, "--state-dir", str(tmp_path), *argv)

    assert code == 2
    assert said in err
    assert err.count("\n") == 1


def test_without_a_running_topology_it_says_so(monkeypatch, capsys, tmp_path):
    code, err = run(monkeypatch, capsys, "--tag", "photo-1", "--state-dir", str(tmp_path))

    assert code == 2
    assert err == "error: no topology is running here (run 'millionscale up' first)\n"
