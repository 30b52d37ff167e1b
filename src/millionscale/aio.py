"""Running a process's asyncio main: on uvloop when the ``fast`` extra is installed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

__all__ = ["run_main"]


def run_main(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` to the end on uvloop (else asyncio's loop); Ctrl-C ends it quietly."""
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - the fast extra is optional
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(main)
