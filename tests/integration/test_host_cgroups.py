"""A host's share of the machine, from the kernel's own accounting: a busy loop on a
0.25-CPU host uses at most a quarter of a core; a process past its host's memory is
killed by the OOM killer and counted as such; the other processes of the host live on."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from millionscale.servers.cgroups import Cgroup, Limits, Version, detect
from millionscale.servers.process import spawn, terminate

pytestmark = pytest.mark.integration

VERSION = detect()
needs_cgroups = pytest.mark.skipif(
    VERSION not in ("v1", "v2"), reason=f"no cgroups here: {VERSION}"
)
MIB = 1024 * 1024
BUSY = [
    sys.executable,
    "-c",
    "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end: pass",
]
SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]
# Grows by 8 MiB at a time (touched, so it is charged), far past any limit here, then waits.
GROW = [
    sys.executable,
    "-c",
    "import time\nblocks = []\nfor _ in range(256):\n"
    "    blocks.append(bytearray(8 << 20))\n    time.sleep(0.005)\ntime.sleep(60)",
]


@pytest.fixture
def host(request: pytest.FixtureRequest) -> Iterator[Cgroup]:
    limits = request.param
    assert VERSION in ("v1", "v2")
    group = Cgroup(f"test-{secrets.token_hex(4)}", limits, version=cast(Version, VERSION))
    group.create()
    try:
        yield group
    finally:
        group.remove()


@needs_cgroups
@pytest.mark.parametrize("host", [Limits(cpus=0.25, memory_bytes=256 * MIB)], indirect=True)
def test_two_busy_loops_on_a_quarter_core_host_use_a_quarter_core_between_them(
    host: Cgroup, tmp_path: Path
):
    loops = [
        spawn(BUSY, log_path=tmp_path / f"busy-{i}.log", cgroup_procs=host.procs_files)
        for i in range(2)
    ]
    try:
        time.sleep(0.5)  # started and charged to the host
        before, started = host.usage(), time.monotonic()
        time.sleep(3.0)
        after, elapsed = host.usage(), time.monotonic() - started
    finally:
        for loop in loops:
            terminate(loop, timeout=5)

    share = (after.cpu_s - before.cpu_s) / elapsed
    assert share <= 0.25 * 1.10, f"{share:.3f} of a core on a 0.25-CPU host"
    assert share >= 0.25 * 0.6, f"{share:.3f}: the loops did not run"  # they are busy, not idle
    assert after.throttled_periods > before.throttled_periods  # held at its quota
    assert after.throttled_s > before.throttled_s


@needs_cgroups
@pytest.mark.parametrize("host", [Limits(cpus=1.0, memory_bytes=64 * MIB)], indirect=True)
def test_a_process_past_its_hosts_memory_is_killed_by_the_oom_killer(host: Cgroup, tmp_path: Path):
    neighbour = spawn(SLEEP, log_path=tmp_path / "sleep.log", cgroup_procs=host.procs_files)
    grower = spawn(GROW, log_path=tmp_path / "grow.log", cgroup_procs=host.procs_files)
    try:
        assert grower.wait(timeout=30) == -signal.SIGKILL
        usage = host.usage()
        assert usage.oom_kills >= 1
        assert usage.memory_peak_bytes == 0 or usage.memory_peak_bytes <= 64 * MIB
        assert neighbour.poll() is None  # the host's other process lives on
        assert neighbour.pid in host.pids()
    finally:
        terminate(neighbour, timeout=5)
        if grower.poll() is None:
            terminate(grower, timeout=5)


@needs_cgroups
def test_a_process_run_as_another_user_still_joins_the_host(tmp_path: Path):
    group = Cgroup(
        f"test-{secrets.token_hex(4)}", Limits(0.5, 128 * MIB), version=cast(Version, VERSION)
    )
    group.create()
    try:
        child = spawn(
            ["/bin/sleep", "60"],
            log_path=tmp_path / "s.log",
            user="nobody",
            cgroup_procs=group.procs_files,
        )
        try:
            time.sleep(0.2)
            assert child.pid in group.pids()
            assert os.stat(f"/proc/{child.pid}").st_uid != 0  # it dropped root after joining
        finally:
            terminate(child, timeout=5)
    finally:
        group.remove()
