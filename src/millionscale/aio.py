"""Running a process's asyncio main: on uvloop when the ``fast`` extra is installed."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Coroutine
from typing import Any

from millionscale.errors import MillionscaleError

__all__ = ["run_main"]


def run_main(main: Coroutine[Any, Any, None]) -> int:
    """Run ``main`` to the end on uvloop (else asyncio's loop); the exit code.

    Ctrl-C ends it quietly (0); a :class:`MillionscaleError` is one line on
    stderr and exit code 2.
    """
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - the fast extra is optional
        runner = asyncio.run
    try:
        with contextlib.suppress(KeyboardInterrupt):
            runner(main)
    except MillionscaleError as error:
        print(f"error: {error.one_line()}", file=sys.stderr)
        return 2
    return 0
