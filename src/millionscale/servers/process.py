"""Child processes that never outlive their parent.

Every process millionscale starts (an engine, a tier, a topology's command)
goes through :func:`spawn`, which gives it:

- its own session and process group, so that stopping it reaches its children
  too (PostgreSQL's backends, a shell's commands);
- a parent-death signal (Linux ``PR_SET_PDEATHSIG``): if the process that
  spawned it dies, even by SIGKILL, the kernel sends the child SIGKILL. The
  signal is armed after any change of user (the kernel clears it on a
  credential change), and a race with a parent that died before the child
  armed it is closed by checking the parent pid afterwards;
- stdout and stderr appended to one log file.

:func:`terminate` stops a process group: the graceful signal, then SIGKILL
after a timeout. :func:`log_tail` reads the end of a log for error messages.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from millionscale.servers.netns import enter

__all__ = [
    "LOG_TAIL_LINES",
    "descendants",
    "log_tail",
    "pid_alive",
    "signal_group",
    "signal_tree",
    "spawn",
    "start_ticks",
    "terminate",
]

LOG_TAIL_LINES = 8  # enough for PostgreSQL's FATAL plus its HINT and context

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _arm_parent_death_signal(parent_pid: int) -> None:
    """Runs in the child between fork and exec: die with the parent."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:  # not Linux: process groups are all we have
        return
    if os.getppid() != parent_pid:  # the parent died before we armed the signal
        os._exit(1)


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    die_with_parent: bool = True,
    cpus: Sequence[int] | None = None,
    netns: str | None = None,
    cgroup_procs: Sequence[Path] = (),
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own process group, output appended to ``log_path``.

    ``user`` runs it as that account (needed for PostgreSQL when we are root).
    ``die_with_parent=False`` is for the detached supervisor only, which must
    outlive the command that started it. ``cpus`` pins it (and its children)
    to those CPUs, to isolate tiers that share one machine. ``netns`` starts it
    in that named network namespace (:mod:`millionscale.servers.netns`).
    ``cgroup_procs`` are the ``cgroup.procs`` files of the cgroup it runs in
    (:attr:`millionscale.servers.cgroups.Cgroup.procs_files`): it joins before it
    runs a single instruction of ``argv``, so all it starts is charged there.
    Joining a namespace or a cgroup needs root, so the change of ``user``
    comes after both.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    parent_pid = os.getpid()
    pinned = set(cpus) if cpus else None
    account = None
    if user is not None and user != pwd.getpwuid(os.geteuid()).pw_name:
        account = pwd.getpwnam(user)

    def preexec() -> None:
        # A process of ours stops on SIGINT (PostgreSQL's fast shutdown, Python's
        # KeyboardInterrupt) even when we were started with it ignored (a shell's
        # background job), which exec would pass on.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if netns is not None:
            enter(netns)
        for procs in cgroup_procs:
            with open(procs, "w") as joined:
                joined.write(f"{os.getpid()}\n")
        if pinned is not None:
            os.sched_setaffinity(0, pinned)
        if account is not None:  # last: what comes before it needs root
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
        if die_with_parent:
            _arm_parent_death_signal(parent_pid)

    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=preexec,
            close_fds=True,
        )


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` names a live process (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True  # no /proc: trust kill(0)
    return state != b"Z"


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (None if it is gone).

    With the pid, this names one process for good: a pid reused by another
    process has another start time. Used before signalling a pid read back
    from a file, so that we never signal a stranger.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return int(fields[19])  # field 22 of proc(5), counted after the command name


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group led by ``pid``; a group already gone is fine."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:  # the group is gone and the pid reused: signal the pid only
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children first, then theirs), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                ppid = int(stat.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    frontier = [pid]
    while frontier:
        children = [child for parent in frontier for child in parents.get(parent, [])]
        found += children
        frontier = children
    return found


def signal_tree(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to ``pid``'s group and to every process below it.

    A group is not enough for servers whose children start sessions of their
    own (PostgreSQL's backends call setsid()): to pause or kill a whole
    server, each of its processes must be signalled. The tree is read first,
    so children orphaned by the signal are still reached.
    """
    below = descendants(pid)
    signal_group(pid, sig)
    for child in below:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, sig)


def terminate(
    process: subprocess.Popen[bytes] | int,
    *,
    graceful: signal.Signals = signal.SIGTERM,
    timeout: float = 10.0,
) -> None:
    """Stop a process started by :func:`spawn` and everything in its group.

    Sends ``graceful`` to the group, waits up to ``timeout`` seconds, then sends
    SIGKILL. Returns once the leader has exited (and been reaped, when it is
    our child).
    """
    pid = process if isinstance(process, int) else process.pid

    def gone() -> bool:
        if isinstance(process, int):
            return not pid_alive(pid)
        return process.poll() is not None

    if gone():
        signal_group(pid, signal.SIGKILL)  # leftovers of a dead leader
        return
    signal_group(pid, graceful)
    deadline = time.monotonic() + timeout
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.02)
    signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.01)


def log_tail(log_path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` non-empty lines of a log, joined by `` | ``."""
    try:
        with open(log_path, "rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - 16384))
            text = log.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])
