"""An outage of something a loop depends on: when to try again, and what to say.

Pure; time is passed in. A loop that calls a broker or a database records
each failure and each success here. :meth:`Outage.failed` returns a sentence
only for the first failure of an outage, and :meth:`Outage.recovered` only for
the success that ends one, so that a loop logs one line when its dependency
goes and one when it is back, not one per try. The wait between tries doubles
from ``retry_s`` up to ``max_retry_s`` and starts again from ``retry_s`` after
a recovery.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from millionscale.errors import ConfigError

__all__ = ["MAX_RETRY_S", "RETRY_S", "Outage"]

RETRY_S = 0.1  # first wait: a broker restarting is back within a second or two
MAX_RETRY_S = 5.0  # longest wait: a job waits at most this long after the broker is back


@dataclass(slots=True)
class Outage:
    """Failures of ``what`` (a noun phrase: "the broker") since it last worked."""

    what: str
    retry_s: float = RETRY_S
    max_retry_s: float = MAX_RETRY_S
    since: float | None = None  # the first failure of the outage in force
    failures: int = 0  # failed tries in the outage in force
    _wait_s: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if not 0 < self.retry_s <= self.max_retry_s:
            raise ConfigError(f"retries of {self.what} need 0 < retry_s <= max_retry_s")
        self._wait_s = self.retry_s

    @property
    def up(self) -> bool:
        return self.since is None

    def failed(self, reason: str, now: float) -> str | None:
        """A try failed; the sentence to log if this begins an outage, else None."""
        self.failures += 1
        if self.since is not None:
            self._wait_s = min(self._wait_s * 2, self.max_retry_s)
            return None
        self.since = now
        self._wait_s = self.retry_s
        return f"{self.what} failed ({reason}); retrying with backoff up to {self.max_retry_s:g} s"

    def wait_s(self) -> float:
        """How long to wait before the next try (0 while up)."""
        return 0.0 if self.since is None else self._wait_s

    def recovered(self, now: float) -> str | None:
        """A try worked; the sentence to log if this ends an outage, else None."""
        if self.since is None:
            return None
        sentence = (
            f"{self.what} is back after {now - self.since:.1f} s and "
            f"{self.failures} failed {'try' if self.failures == 1 else 'tries'}"
        )
        self.since = None
        self.failures = 0
        self._wait_s = self.retry_s
        return sentence
