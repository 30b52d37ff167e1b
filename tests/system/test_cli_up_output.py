"""What `up` prints: progress while it waits (plain lines when stderr is not a
terminal), and on failure only this run's log lines, with no raw markup."""

import pytest

from conftest import Cli, placeholder

pytestmark = pytest.mark.system

EARLIER = '{"event": "a line an earlier run wrote", "level": "error", "process": "crashy"}\n'


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(cli: Cli):
    topology = cli.write_topology('[topology]\nname = "t"\n' + placeholder())

    up = cli.run("up", str(topology), "--detach")

    assert up.returncode == 0, up.stderr
    lines = up.stderr.splitlines()
    assert any(line.endswith("web starting (0/1 ready)") for line in lines), up.stderr
    assert any(line.endswith("web ready (1/1 ready)") for line in lines), up.stderr
    assert not any(c in up.stderr for c in "⠋⠙⠹━\r")  # no spinner, no bar
    assert "all 1 processes ready" in up.stdout


def test_a_failed_up_shows_this_runs_log_lines_only_and_no_markup(cli: Cli):
    program = cli.workdir / "crashy.py"
    program.write_text("print('this run: [bold]not markup[/]')\nraise SystemExit('boom')\n")
    topology = cli.write_topology(
        f"""
[topology]
name = "t"

[processes.crashy]
tier = "web"
command = ["{{python}}", "{program}"]
restart = {{ policy = "never" }}
"""
    )
    (cli.state_dir / "logs").mkdir(parents=True)
    (cli.state_dir / "logs" / "crashy.log").write_text(EARLIER)

    up = cli.run("up", str(topology), "--detach", "--timeout", "30")

    assert up.returncode == 1
    assert "crashy's log during this run:" in up.stderr
    assert "this run: [bold]not markup[/]" in up.stderr  # the process's own text, verbatim
    assert "boom" in up.stderr
    assert "an earlier run" not in up.stderr
    assert "[bold]crashy[/]" not in up.stderr
    assert cli.status()["running"] is False
