"""signal_tree reaches children that left their parent's process group (as PostgreSQL's do)."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from millionscale.servers.process import descendants, pid_alive, signal_tree

pytestmark = pytest.mark.integration

# A parent whose child starts a session of its own, as PostgreSQL's backends do.
PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
print(child.pid, flush=True)
time.sleep(60)
"""


def test_a_child_in_its_own_session_is_signalled_with_its_parent():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert child in descendants(parent.pid)

        signal_tree(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while pid_alive(child) and time.monotonic() < deadline:
            time.sleep(0.01)

        assert not pid_alive(child)
    finally:
        for pid in (parent.pid, child):  # bounded clean-up of what this test started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        parent.stdout.close()
        parent.wait(timeout=10)
