"""Waiting, bounded, for something to become ready: an URL or a check."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from millionscale.errors import ServerStartError
from millionscale.servers.process import log_tail

__all__ = ["Check", "wait_ready"]

POLL_S = 0.05  # 20 polls a second: prompt, and light on a two-core machine
HTTP_TIMEOUT_S = 2.0  # one probe; a server that takes longer is not ready
BODY_SHOWN = 200  # characters of the last answer quoted in the error

Check = Callable[[], object]
"""A readiness check: truthy when ready. It may raise ``OSError`` or
``httpx.TransportError`` (nothing listens yet), which count as not ready."""


def wait_ready(
    url_or_check: str | Check,
    timeout: float,
    *,
    process: subprocess.Popen[bytes] | subprocess.Popen[str] | None = None,
    log: Path | None = None,
    what: str = "",
    interval: float = POLL_S,
    describe: Callable[[], object] | None = None,
) -> float:
    """Poll until ready; return the ``time.monotonic()`` at which it was.

    ``url_or_check`` is an URL (ready when a ``GET`` answers 200) or a
    :data:`Check`. It is polled every ``interval`` seconds for ``timeout``
    seconds at most, and at least once.

    Raises :class:`~millionscale.errors.ServerStartError` if ``process``
    exits first or the timeout passes. The message says what the last poll
    saw (the status and the start of the body, the error, or the check's
    falsy value) so that a failing test says why; with ``log``, the error
    carries that log's tail. ``describe``, if given, is called once on giving up
    and its answer added (the state a bare ``False`` from the check hides).
    """
    if timeout < 0 or interval <= 0:
        raise ValueError(f"timeout {timeout} must be >= 0 and interval {interval} > 0")
    check = _http_check(url_or_check) if isinstance(url_or_check, str) else url_or_check
    name = what or (url_or_check if isinstance(url_or_check, str) else _name(url_or_check))
    deadline = time.monotonic() + timeout
    last = "nothing yet"
    while True:
        if process is not None and process.poll() is not None:
            raise ServerStartError(
                f"{name}: the process exited with code {process.returncode} before it was "
                f"ready; last saw {last}",
                hint=f"read {log}" if log else "run it by hand to see why it exits",
                log_tail=log_tail(log) if log else "",
            )
        try:
            seen = check()
        except (OSError, httpx.TransportError) as error:
            last = f"{type(error).__name__}: {error}"
        else:
            if seen:
                return time.monotonic()
            last = repr(seen) if not isinstance(seen, _NotYet) else seen.seen
        if time.monotonic() >= deadline:
            state = f"; then {describe()!r}" if describe is not None else ""
            raise ServerStartError(
                f"{name} was not ready within {timeout:g} s; last saw {last}{state}",
                hint="raise the timeout on a slow machine, or read the log",
                log_tail=log_tail(log) if log else "",
            )
        time.sleep(interval)


class _NotYet:
    """A falsy answer that says what it saw (an HTTP status and body)."""

    __slots__ = ("seen",)

    def __init__(self, seen: str) -> None:
        self.seen = seen

    def __bool__(self) -> bool:
        return False


def _http_check(url: str) -> Check:
    def check() -> object:
        response = httpx.get(url, timeout=HTTP_TIMEOUT_S)
        if response.status_code == 200:
            return True
        return _NotYet(f"{response.status_code} {response.text[:BODY_SHOWN]!r}")

    return check


def _name(check: Check) -> str:
    name = getattr(check, "__qualname__", "")
    return "the check" if not name or "<lambda>" in name else name
