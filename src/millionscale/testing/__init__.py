"""Test helpers that ship with the package, as trio's do.

- :class:`FakeClock` (``_clock.py``): time that moves only on :meth:`~FakeClock.jump`,
  for every pure core that takes a ``Callable[[], float]`` clock.
- :func:`spawn_module` (``_spawn.py``): ``python -m module`` as a child in its own
  process group, stopped (group and all) when the ``with`` block ends.
- :func:`wait_ready` (``_ready.py``): a bounded poll of an URL or a check that,
  when it gives up, says what it last saw.
- :class:`Metrics` and :func:`scrape` (``_metrics.py``): a ``/metrics`` page read
  with ``prometheus_client``'s own parser; ``sample(name, labels) -> float``.
- :class:`ScriptedOrigin` (``_origin.py``): an HTTP origin on port 0 whose answers
  (:class:`Answer`) are scripted per path and which records every request
  (:class:`Seen`), for testing caches (:mod:`millionscale.testing.cdn_conformance`).
- :func:`read_topology` (``_state.py``): a state directory's ``topology.json``,
  typed, as the supervisor reads it.

:mod:`millionscale.db.testing` adds a real replicated PostgreSQL cluster. None
of this imports pytest: failures are :class:`~millionscale.errors.MillionscaleError`
subclasses that pytest reports like any exception.
"""

from millionscale.testing._clock import FakeClock
from millionscale.testing._metrics import Metrics, MetricsError, Sample, scrape
from millionscale.testing._origin import Answer, ScriptedOrigin, Seen, served_answer
from millionscale.testing._ready import Check, wait_ready
from millionscale.testing._spawn import Spawned, spawn_module
from millionscale.testing._state import read_topology

__all__ = [
    "Answer",
    "Check",
    "FakeClock",
    "Metrics",
    "MetricsError",
    "Sample",
    "ScriptedOrigin",
    "Seen",
    "Spawned",
    "read_topology",
    "scrape",
    "served_answer",
    "spawn_module",
    "wait_ready",
]
