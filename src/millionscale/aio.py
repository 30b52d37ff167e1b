"""Running a process's main: its flags (:class:`FlagParser`), its asyncio loop on
uvloop when the ``fast`` extra is installed (:func:`run_main`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Coroutine
from typing import Any, NoReturn

from millionscale.errors import MillionscaleError

__all__ = ["FlagParser", "run_main"]


class FlagParser(argparse.ArgumentParser):
    """A bad flag is one line on stderr and exit code 2 (argparse prints its usage too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see --help)\n")


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
