"""Linux network namespaces: private networks for processes on one machine.

A topology that puts its web servers on a private subnet runs each of them in
a network namespace of its own (as if each were a host), wired by veth pairs
to a switch (a bridge in a namespace of its own); see
:mod:`millionscale.topology.network` for the layout. This module holds the
kernel-facing primitives, and nothing here decides an address:

- :func:`ip` runs one ``ip`` command (iproute2) and raises with its message;
- :func:`enter` moves the calling thread, or a child between fork and exec,
  into a namespace (``setns(2)``; Python 3.11 has no ``os.setns``);
- :func:`socket_in` makes a socket that lives in a namespace: a socket keeps
  the namespace it was created in, whichever thread uses it later, so the
  supervisor probes a web server on its private address, and a test reaches
  inside, without either moving into the namespace for good.

Namespaces need root (``CAP_SYS_ADMIN``); :func:`available` says whether this
process can make them, and why not.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from millionscale.errors import ServerStartError

__all__ = [
    "NETNS_DIR",
    "available",
    "enter",
    "exists",
    "ip",
    "namespaces",
    "run_in",
    "set_sysctl",
    "socket_in",
]

T = TypeVar("T")
NETNS_DIR = Path("/run/netns")  # where `ip netns add` mounts named namespaces
_CLONE_NEWNET = 0x40000000  # from <sched.h>


def available() -> str | None:
    """None if namespaces can be made here; otherwise why not, in a few words."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip command (Debian's iproute2) is not installed"
    return None


def ip(*args: str) -> str:
    """Run ``ip ARGS``; its output, or a ServerStartError with its message."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        raise ServerStartError(
            f"ip {' '.join(args)} failed: {result.stderr.strip() or result.returncode}",
            hint="network namespaces need root and a kernel with veth and bridge support",
        )
    return result.stdout


def namespaces() -> list[str]:
    """The names of the named network namespaces on this machine."""
    try:
        return sorted(entry.name for entry in NETNS_DIR.iterdir())
    except OSError:
        return []


def exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def enter(name: str) -> None:
    """Move the calling thread into namespace ``name`` (for good)."""
    fd = os.open(NETNS_DIR / name, os.O_RDONLY | os.O_CLOEXEC)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into network namespace {name}: {os.strerror(errno)}")
    finally:
        os.close(fd)


def run_in(name: str, work: Callable[[], T]) -> T:
    """``work()`` run in namespace ``name``; the calling thread stays where it is.

    A short-lived thread enters the namespace and runs it there (a thread's
    namespace is its own, and this one ends right after). Sockets it makes, and
    ``/proc/sys/net`` files it opens, belong to that namespace.
    """
    done: list[T] = []
    failed: list[BaseException] = []

    def enter_and_work() -> None:
        try:
            enter(name)
            done.append(work())
        except BaseException as error:  # handed to the caller's thread
            failed.append(error)

    thread = threading.Thread(target=enter_and_work, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return done[0]


def socket_in(
    name: str, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM
) -> socket.socket:
    """A new socket in namespace ``name``, usable from any thread."""
    return run_in(name, lambda: socket.socket(family, kind))


def set_sysctl(name: str, key: str, value: str) -> None:
    """Set ``key`` (such as ``net/ipv4/ip_forward``) in namespace ``name``."""

    def write() -> None:
        Path("/proc/sys", key).write_text(value)

    run_in(name, write)
