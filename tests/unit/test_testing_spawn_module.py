"""spawn_module: python -m module in its own group, its output logged, stopped on exit."""

import os

from millionscale.servers.process import pid_alive
from millionscale.testing import spawn_module, wait_ready


def test_the_module_runs_with_its_arguments_and_environment_and_logs_its_output(tmp_path):
    log = tmp_path / "out.log"
    env = {**os.environ, "GREETING": "hello"}
    code = "import os, sys; print(os.environ['GREETING'], sys.argv[1:]); sys.stdout.flush()"
    (tmp_path / "greeter.py").write_text(code)

    with spawn_module(
        "greeter", "a", "b", env={**env, "PYTHONPATH": str(tmp_path)}, log=log
    ) as child:
        child.process.wait(30)

    assert child.log().strip() == "hello ['a', 'b']"
    assert child.process.returncode == 0


def test_a_child_still_running_at_exit_is_stopped_with_its_group(tmp_path):
    code = (
        "import subprocess, sys, time\n"
        "grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print('up', grandchild.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    (tmp_path / "sleeper.py").write_text(code)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    with spawn_module("sleeper", env=env) as child:
        assert os.getpgid(child.pid) == child.pid  # its own group
        wait_ready(lambda: "up" in child.log(), timeout=30, process=child.process)
        grandchild = int(child.log().split()[1])
        log_path = child.log_path

    assert child.process.returncode is not None
    assert not pid_alive(child.pid)
    assert wait_ready(lambda: not pid_alive(grandchild), timeout=10)
    assert not log_path.exists()  # no log asked for: a temporary one, removed
