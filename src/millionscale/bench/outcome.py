"""What became of one request: ok, or an error of one of a few kinds.

The kinds are a closed set so that counts by kind stay bounded (they become
JSON keys and table rows, never free text):

- ``status_5xx`` / ``status_4xx``: the server answered with that status class;
- ``timeout``: no complete answer within the per-request timeout, or still
  unfinished when the run's drain timeout ran out;
- ``connect``: the connection could not be made, or was lost mid-request;
- ``other``: anything else (a malformed answer, an exception in ``send``);
- ``overload``: never sent, because the generator already had its cap of
  requests in flight (see :func:`millionscale.bench.generator.run_open_loop`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["ERROR_KINDS", "OK", "ErrorKind", "Outcome"]

ErrorKind = Literal["status_5xx", "status_4xx", "timeout", "connect", "other", "overload"]

ERROR_KINDS: tuple[ErrorKind, ...] = get_args(ErrorKind)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one request: ``error`` is ``None`` when it succeeded."""

    error: ErrorKind | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, kind: ErrorKind) -> Outcome:
        return cls(error=kind)


OK = Outcome()
