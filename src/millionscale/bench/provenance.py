"""What a benchmark result file must say about itself, and how repeated runs are summed up.

The rule for figures (README.md, docs/): every figure quoted is in a file under
``bench/results/`` written by the command quoted beside it, and a "median" is
a median of several stored runs, with the run count beside it. So every
result file carries:

- :func:`provenance`: the command line that wrote it, the date (UTC) and the
  machine (cores, Python, platform);
- :func:`over_runs` for each figure measured more than once: every run's
  value, the median and the run count.

:func:`at_least` builds the ``argparse`` types that range-check counts and
durations, so ``--runs 0`` or ``--latency-rounds -1`` is one clear usage
error instead of a traceback after minutes of work.

Pure but for :func:`provenance`'s defaults (``sys.argv``, the clock, the
machine), which callers and tests can pass in.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import shlex
import statistics
import sys
from collections.abc import Callable, Sequence
from typing import Any

from millionscale.errors import ConfigError

__all__ = ["at_least", "over_runs", "provenance"]


def provenance(
    argv: Sequence[str] | None = None,
    *,
    now: dt.datetime | None = None,
    cpus: int | None = None,
) -> dict[str, Any]:
    """``command``, ``date`` and ``machine`` for a result file.

    ``command`` is ``argv`` (default ``sys.argv``) as a shell would take it,
    with the interpreter in front (``.venv/bin/python bench/x.py --runs 3``)
    so that it can be pasted to reproduce the file.
    """
    words = list(sys.argv if argv is None else argv)
    if argv is None:
        words = [_python_as_typed(), *words]
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    return {
        "command": shlex.join(words),
        "date": moment.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": cpus if cpus is not None else os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
        },
    }


def _python_as_typed() -> str:
    """The interpreter, relative to the working directory when it lives below it."""
    executable = sys.executable or "python"
    try:
        relative = os.path.relpath(executable)
    except ValueError:  # another drive (Windows)
        return executable
    return relative if not relative.startswith("..") else executable


def over_runs(values: Sequence[float]) -> dict[str, Any]:
    """``{"runs": [...], "median": m, "run_count": n}`` of one figure measured ``n`` times.

    ConfigError for no runs or a value that is not a finite number: a median
    of nothing is not a figure.
    """
    if not values:
        raise ConfigError("no runs to take a median of", hint="run the benchmark at least once")
    numbers = [float(value) for value in values]
    if not all(math.isfinite(number) for number in numbers):
        raise ConfigError(
            f"a run's figure is not a finite number: {values!r}",
            hint="drop the failed runs before taking the median",
        )
    return {"runs": numbers, "median": statistics.median(numbers), "run_count": len(numbers)}


def at_least(minimum: float, kind: type[int] | type[float] = int) -> Callable[[str], Any]:
    """An ``argparse`` type: a finite ``kind`` that is ``>= minimum``, else a usage error.

    ``at_least(1)`` for a count of runs, ``at_least(0)`` where 0 skips a part,
    ``at_least(0.1, float)`` for seconds.
    """
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not math.isfinite(value) or value < minimum:
            raise argparse.ArgumentTypeError(f"must be {noun} >= {minimum:g}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse
