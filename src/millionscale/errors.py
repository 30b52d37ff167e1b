"""The one exception tree of millionscale.

Every error a user can cause or meet derives from :class:`MillionscaleError` and
carries a ``hint``: one sentence saying how to fix it. The command line prints
``error: <message> (<hint>)`` on one line and exits with code 2; it never shows
a traceback for these. Lower-layer errors (``OSError``, ``tomllib`` and
pydantic errors, subprocess failures) are mapped to the most specific class
here at the boundary where they happen.

    MillionscaleError
    ├── ConfigError            a topology file or an argument is wrong
    │   ├── TopologyError      the topology file cannot be used as written
    │   ├── PortInUseError     a fixed port is already taken
    │   └── UnknownProcessError  a process name that the topology lacks
    ├── ServerError            a real engine could not be found or started
    │   ├── BinaryNotFoundError
    │   └── ServerStartError   carries the tail of the engine's own log
    ├── SupervisorError        the supervisor is not running, or already is
    ├── DatabaseError          a PostgreSQL node cannot be used (router, LSNs)
    ├── CacheError             a key or value the cache cannot take (also a ValueError)
    ├── SessionStoreUnavailable  the shared session store (Redis) does not answer
    └── DiscoveryError         a discovery source does not answer, or answers nonsense
        └── StaleEpochError    a role claim older than the one in force
"""

from __future__ import annotations

__all__ = [
    "BinaryNotFoundError",
    "CacheError",
    "ConfigError",
    "DatabaseError",
    "DiscoveryError",
    "MembershipError",
    "MillionscaleError",
    "PortInUseError",
    "ServerError",
    "ServerStartError",
    "SessionStoreUnavailable",
    "StaleEpochError",
    "SupervisorError",
    "TopologyError",
    "UnknownProcessError",
    "first_line",
]


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (libpq's run on), or its type's name."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class MillionscaleError(Exception):
    """Base of every error millionscale raises on purpose."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The error as the command line prints it: message, then the fix."""
        text = " ".join(self.message.split())
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(MillionscaleError):
    """Something the user wrote (a topology file, an argument) is wrong."""


class TopologyError(ConfigError):
    """A topology file that cannot be used: syntax, unknown key, bad value, cycle."""


class PortInUseError(ConfigError):
    """A port fixed in the topology is already taken by another process."""


class UnknownProcessError(ConfigError):
    """A process name that is not in the topology."""


class ServerError(MillionscaleError):
    """A real engine (PostgreSQL, Redis, NATS) could not be found or started."""


class BinaryNotFoundError(ServerError):
    """An engine's binary is nowhere: not in its override, PATH or the usual places."""


class ServerStartError(ServerError):
    """An engine started but never became ready, or exited; the log tail says why."""

    def __init__(self, message: str, *, hint: str = "", log_tail: str = "") -> None:
        if log_tail:
            message = f"{message}; last lines of its log: {log_tail}"
        super().__init__(message, hint=hint)
        self.log_tail = log_tail


class SupervisorError(MillionscaleError):
    """The supervisor is not running where one was expected, or already runs."""


class MembershipError(SupervisorError):
    """A process cannot join or leave a running topology now: its name is taken,
    another process depends on it, it is already leaving, or the topology stops."""


class DatabaseError(MillionscaleError):
    """A PostgreSQL node cannot be used as configured: unreachable, not PostgreSQL,
    a refused password, or a malformed LSN or session token.

    Raised at the boundary of :mod:`millionscale.db`; the message names the node and
    its address (never the password) and quotes the first line of libpq's reason.
    """


class CacheError(MillionscaleError, ValueError):
    """A key or a value the cache cannot take: a key that is not a short string,
    a value its codec cannot encode, a setting out of range.

    Raised by :mod:`millionscale.cache` at the call that was given it, naming
    the key (shortened) and what is wrong; it is a programming error of the
    caller, never a symptom of the cache's own state. A cache that cannot
    reach Redis does not raise it: it falls through to the loader.
    """


class SessionStoreUnavailable(MillionscaleError):
    """The shared session store cannot be used right now: Redis refused the
    connection, timed out, is still loading its data, or refused the command.

    Raised at the boundary of :mod:`millionscale.web.sessions`; the message names
    the store and its address (never the password) and quotes the client's reason.
    A web app answers it with 503 and ``Retry-After``: the user's session is not
    known to be gone, so neither 401 nor a traceback would be true.
    """


class DiscoveryError(MillionscaleError):
    """A discovery source (:mod:`millionscale.discovery`) cannot be read: it does not
    answer, or what it holds is not a snapshot (the message says which field)."""


class StaleEpochError(DiscoveryError):
    """A role claim whose epoch is below the one in force (or equal, for another
    holder): the claimant was superseded and must stand down."""

    def __init__(self, message: str, *, hint: str = "", holder: str = "", epoch: int = 0) -> None:
        super().__init__(message, hint=hint)
        self.holder, self.epoch = holder, epoch
