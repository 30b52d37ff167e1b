"""The end of a process's main when the process serves an admin API: ports, token, logs, loop."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from millionscale.aio import run_main
from millionscale.errors import MillionscaleError
from millionscale.obs.admin._token import load_token, token_file
from millionscale.obs.logging import configure_logging

__all__ = ["Start", "run_admin_process"]

Start = Callable[[str], tuple[str, Coroutine[Any, Any, None]]]
"""Given the admin token: the process's name for its log lines and its main coroutine
(raising :class:`~millionscale.errors.MillionscaleError` for settings it cannot take)."""

PORTS = range(65536)


def run_admin_process(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    token_env: str | None,
    start: Start,
) -> int:
    """Run a process from its parsed flags ``args``; its exit code.

    ``--port`` and ``--admin-port`` (those of them the process has) out of 0 to
    65535 are a usage error (``parser.error``). The admin token comes from
    ``token_env``, else the ``admin-token`` file of ``--state-dir``
    (:func:`load_token`); a process whose admin API guards no route (health,
    readiness and metrics only: a queue worker) passes ``token_env=None`` and is
    given ``""``. ``start(token)`` reads the rest of the settings. A
    :class:`~millionscale.errors.MillionscaleError` from either is one line
    ``error: ...`` on stderr and exit code 2, before anything listens or logs.
    Then the process logs JSON lines under its name and its coroutine runs
    (:func:`~millionscale.aio.run_main`).
    """
    for flag in ("port", "admin_port"):
        port = getattr(args, flag, 0)
        if port not in PORTS:
            parser.error(f"port {port} is not 0 to 65535")
    try:
        token = "" if token_env is None else load_token(token_env, token_file(args.state_dir))
        name, main = start(token)
    except MillionscaleError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    configure_logging(name)
    return run_main(main)
