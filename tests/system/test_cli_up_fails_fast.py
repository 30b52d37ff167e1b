"""`up` never hangs silently: a process that cannot become ready fails `up` within
its readiness timeout, with its name and the last error line of this run's log,
exit code 1, and nothing left running."""

import time
from pathlib import Path

import pytest

from conftest import Cli, all_dead
from millionscale.servers.process import pid_alive

pytestmark = pytest.mark.system

CAUSE = "RuntimeError: no database node answers as the primary"


def _topology(cli: Cli, script: str, *, timeout_s: float, restart: str = "") -> Path:
    program = cli.workdir / "crashy.py"
    program.write_text(script)
    return cli.write_topology(
        f"""
[topology]
name = "crashy"

[processes.crashy]
tier = "web"
command = ["{{python}}", "{program}"]
readiness = {{ tcp = true, timeout_s = {timeout_s} }}
{restart}
"""
    )


def _pids_written(cli: Cli) -> list[int]:
    path = cli.workdir / "pids"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


RECORD_PID = "import os\nopen({pids!r}, 'a').write(f'{{os.getpid()}}\\n')\n"


def _script(cli: Cli, body: str) -> str:
    return RECORD_PID.format(pids=str(cli.workdir / "pids")) + body


def test_a_process_that_exits_at_once_fails_up_with_its_last_log_line(cli: Cli):
    script = _script(cli, f"print('connecting')\nraise SystemExit({CAUSE!r})\n")
    topology = _topology(cli, script, timeout_s=20)

    began = time.monotonic()
    up = cli.run("up", str(topology), "--detach")
    took = time.monotonic() - began

    assert up.returncode == 1
    assert took < 20 + 10
    error = next(line for line in up.stderr.splitlines() if line.startswith("error: "))
    assert error.startswith("error: crashy failed: ")
    assert f"last error: {CAUSE}" in " ".join(up.stderr.split())
    assert cli.status()["running"] is False
    assert all_dead(_pids_written(cli))


def test_a_slow_crash_loop_fails_up_within_the_readiness_timeout_with_the_real_cause(cli: Cli):
    # Each run takes 4 s to crash: 5 restarts within 60 s would never trip.
    traceback = (
        "import time\ntime.sleep(4)\n"
        "def connect():\n    raise RuntimeError('no database node answers as the primary')\n"
        "connect()\n"
    )
    topology = _topology(
        cli,
        _script(cli, traceback),
        timeout_s=10,
        restart="restart = { max_restarts = 5, window_s = 60, backoff_initial_s = 0.5 }",
    )

    began = time.monotonic()
    up = cli.run("up", str(topology), "--detach")
    took = time.monotonic() - began

    assert up.returncode == 1
    assert took < 10 + 10
    error = next(line for line in up.stderr.splitlines() if line.startswith("error: "))
    assert error.startswith("error: crashy failed: not ready within 10 s")
    assert f"last error: {CAUSE}" in " ".join(
        up.stderr.split()
    )  # a traceback's last line, not its first
    assert len(_pids_written(cli)) >= 2  # it was restarted, then given up on
    assert all_dead(_pids_written(cli))


def test_up_that_gives_up_at_once_leaves_no_supervisor_and_no_process(cli: Cli):
    script = _script(cli, "import time\ntime.sleep(120)\n")  # never listens
    topology = _topology(cli, script, timeout_s=60)

    up = cli.run("up", str(topology), "--detach", "--timeout", "3")

    assert up.returncode == 1
    assert "not ready within 3 s" in up.stderr
    assert _pids_written(cli), "the process was started"
    assert all_dead(_pids_written(cli))
    spawned = cli.state_dir / "supervisor.spawned"
    assert not spawned.exists()
    pid = cli.supervisor_pid()
    assert pid is None or not pid_alive(pid)
    assert cli.status()["running"] is False
