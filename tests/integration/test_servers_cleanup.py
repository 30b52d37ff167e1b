"""Throwaway servers never outlive their owner, and a failed start says why."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from millionscale.errors import ServerStartError
from millionscale.servers import PostgresEngine, start_server
from millionscale.servers.process import pid_alive
from millionscale.testing import wait_ready

pytestmark = pytest.mark.integration

DEATH_TIMEOUT_S = 10.0


def _wait_dead(pids: list[int], timeout: float = DEATH_TIMEOUT_S) -> list[int]:
    """The pids still alive after at most ``timeout`` seconds (none, once all died)."""
    with contextlib.suppress(ServerStartError):
        wait_ready(lambda: not any(pid_alive(pid) for pid in pids), timeout)
    return [pid for pid in pids if pid_alive(pid)]


def test_stop_ends_the_server_and_removes_its_directory():
    server = start_server("redis")
    pid, run_dir = server.pid, server.run_dir

    server.stop()

    assert _wait_dead([pid]) == []
    assert not run_dir.exists()


def test_a_server_that_cannot_start_raises_with_its_own_log_tail():
    engine = PostgresEngine(durable=False, settings={"shared_buffers": "not-a-size"})

    with pytest.raises(ServerStartError) as caught:
        start_server(engine, ready_timeout=20)

    message = caught.value.one_line()
    assert "postgres exited with code" in message
    assert "shared_buffers" in message  # PostgreSQL's own words, from its log


OWNER = textwrap.dedent(
    """
    import json, sys, time
    from millionscale.servers import start_server
    servers = [start_server(name) for name in ("postgres", "redis", "nats")]
    print(json.dumps({"pids": [s.pid for s in servers],
                      "dirs": [str(s.run_dir) for s in servers]}), flush=True)
    time.sleep(120)
    """
)


def test_servers_die_when_their_owner_is_killed():
    with subprocess.Popen(
        [sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True
    ) as owner:
        assert owner.stdout is not None
        started = json.loads(owner.stdout.readline())
        assert all(pid_alive(pid) for pid in started["pids"])

        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)

    assert _wait_dead(started["pids"]) == []
    # The owner could not clean up; the next start on the machine sweeps its directories.
    with start_server("redis"):
        assert not any(Path(d).exists() for d in started["dirs"])


SESSION = textwrap.dedent(
    """
    import json, os

    def _record(server):
        with open(os.environ["PIDS_FILE"], "a") as f:
            f.write(json.dumps(server.pid) + "\\n")

    def test_postgres(postgres):
        _record(postgres)

    def test_redis_session(redis_session):
        _record(redis_session)

    def test_nats_then_fail(nats):
        _record(nats)
        assert False, "this test fails on purpose"
    """
)


def test_no_server_outlives_a_pytest_session_even_when_tests_fail(tmp_path):
    (tmp_path / "test_inner.py").write_text(SESSION)
    pids_file = tmp_path / "pids.jsonl"

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PIDS_FILE": str(pids_file)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    pids = [json.loads(line) for line in pids_file.read_text().splitlines()]
    assert result.returncode == 1, result.stdout[-2000:]
    assert "1 failed, 2 passed" in result.stdout
    assert len(pids) == 3
    assert _wait_dead(pids) == []
