"""The one exception tree of millionscale.

Every error a user can cause or meet derives from :class:`MillionscaleError` and
carries a ``hint``: one sentence saying how to fix it. The command line prints
``error: <message> (<hint>)`` on one line and exits with code 2; it never shows
a traceback for these. Lower-layer errors (``OSError``, ``tomllib`` and
pydantic errors, subprocess failures) are mapped to the most specific class
here at the boundary where they happen.

A broken invariant of millionscale itself is not such an error: it derives
from :class:`MillionscaleBug` (an ``AssertionError``), which the command line
does not catch, so it ends in a traceback to report rather than a line that
blames the user. A state machine asked for a move its table lacks
(:class:`IllegalTransition`) is the one such bug raised on purpose.

    MillionscaleError
    ├── ConfigError            a topology file or an argument is wrong
    │   ├── TopologyError      the topology file cannot be used as written
    │   │   └── HostLimitsError  it has hosts, and hosts cannot be limited here
    │   ├── ZoneError          a GeoDNS zone file cannot be used as written
    │   ├── PortInUseError     a fixed port is already taken
    │   └── UnknownProcessError  a process name that the topology lacks
    ├── ServerError            a real engine could not be found or started
    │   ├── BinaryNotFoundError
    │   └── ServerStartError   carries the tail of the engine's own log
    ├── SupervisorError        the supervisor is not running, or already is
    │   └── MembershipError    a process cannot join or leave the running topology now
    ├── AdminError             an admin endpoint refused, or did not answer
    ├── DatabaseError          a PostgreSQL node cannot be used (router, LSNs)
    ├── SwitchoverRefused      a switchover or failover the cluster cannot carry out now
    ├── CacheError             a key or value the cache cannot take (also a ValueError)
    ├── SessionStoreUnavailable  the shared session store (Redis) does not answer
    ├── QueueError             the job queue's broker does not answer or confirm; no such dead letter
    ├── MalformedJob           bytes that are no job, or a job over a limit (also a ValueError)
    ├── DiscoveryError         a discovery source does not answer, or answers nonsense
    │   └── StaleEpochError    a role claim older than the one in force
    └── AdminRequestError      an admin API request that is refused (an HTTP 4xx)
        ├── Unauthorized       401: no admin token, or the wrong one
        ├── NotFound           404: no such thing (a backend, a node, a route)
        ├── Conflict           409: the state in force forbids it (already a member)
        ├── PayloadTooLarge    413: a body over the API's limit
        └── Invalid            422: a body or a value the API cannot take

    MillionscaleBug (AssertionError)   millionscale broke its own rule: a traceback
    └── IllegalTransition  a (state, event) pair a state table does not hold

Exceptions outside this tree are deliberate, and never reach a user as
such: control flow private to one module, a ``ValueError`` that a pure parser
or codec raises and its caller maps here or absorbs, a driver's error class
that a pool must recognise, the reference application's domain errors that
its HTTP layer answers. ``tests/unit/test_errors_tree.py`` lists each one
with the reason, and fails on any other exception class under ``src/``.
"""

from __future__ import annotations

__all__ = [
    "AdminError",
    "AdminRequestError",
    "BinaryNotFoundError",
    "CacheError",
    "ConfigError",
    "Conflict",
    "DatabaseError",
    "DiscoveryError",
    "HostLimitsError",
    "IllegalTransition",
    "Invalid",
    "MalformedJob",
    "MembershipError",
    "MillionscaleBug",
    "MillionscaleError",
    "NotFound",
    "PayloadTooLarge",
    "PortInUseError",
    "QueueError",
    "ServerError",
    "ServerStartError",
    "SessionStoreUnavailable",
    "StaleEpochError",
    "SupervisorError",
    "SwitchoverRefused",
    "TopologyError",
    "Unauthorized",
    "UnknownProcessError",
    "ZoneError",
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


class HostLimitsError(TopologyError):
    """A topology with hosts where hosts cannot be limited (no root, no cgroups)."""


class ZoneError(ConfigError):
    """A GeoDNS zone file that cannot be used: syntax, unknown key, bad name or record."""


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


class AdminError(MillionscaleError):
    """An admin endpoint (the balancer's, the failover monitor's) refused a request,
    or did not answer; raised by :mod:`millionscale.topology.admin`'s client, with
    the endpoint's own reason."""


class MembershipError(SupervisorError):
    """A process cannot join or leave a running topology now: its name is taken,
    another process depends on it, it is already leaving, or the topology stops."""


class DatabaseError(MillionscaleError):
    """A PostgreSQL node cannot be used as configured: unreachable, not PostgreSQL,
    a refused password, or a malformed LSN or session token.

    Raised at the boundary of :mod:`millionscale.db`; the message names the node and
    its address (never the password) and quotes the first line of libpq's reason.
    """


class SwitchoverRefused(MillionscaleError):
    """A switchover or failover that the cluster cannot carry out now: it is not
    healthy, the target is not a streaming standby, there is no standby at all.

    Raised by :mod:`millionscale.db.failover` and the monitor before anything
    changed; the message says why, and the monitor's admin API answers it with
    409 and that message.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str = "see 'millionscale db status' for the cluster's state and its standbys",
    ) -> None:
        super().__init__(message, hint=hint)


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


class QueueError(MillionscaleError):
    """The job queue cannot do what was asked: the broker does not answer or did not
    confirm a publish (the job may not be stored), or a dead letter named does not
    exist. Raised at the boundary of :mod:`millionscale.queue`, naming the broker's
    address (never its token) and quoting the client's reason."""


class MalformedJob(MillionscaleError, ValueError):
    """Bytes that are not a job, or a job that breaks a limit (its size, its task
    name); the message says which. Raised by :mod:`millionscale.queue.job`; a
    producer gets it at enqueue, a worker dead-letters the message with it."""


class DiscoveryError(MillionscaleError):
    """A discovery source (:mod:`millionscale.discovery`) cannot be read: it does not
    answer, or what it holds is not a snapshot (the message says which field)."""


class StaleEpochError(DiscoveryError):
    """A role claim whose epoch is below the one in force (or equal, for another
    holder): the claimant was superseded and must stand down."""

    def __init__(self, message: str, *, hint: str = "", holder: str = "", epoch: int = 0) -> None:
        super().__init__(message, hint=hint)
        self.holder, self.epoch = holder, epoch


class AdminRequestError(MillionscaleError):
    """An admin API request that is refused: the caller's to fix, never a server fault.

    Each subclass is one HTTP status (the table is
    :data:`millionscale.obs.admin.STATUS_OF`); the answer is ``{"detail": one_line()}``.
    Raised by the decision code an admin route calls (the balancer's membership,
    the fault proxy's spec parser), so the route never picks a status by itself.
    """


class Unauthorized(AdminRequestError):
    """401: the request carries no admin token, or the wrong one."""


class NotFound(AdminRequestError):
    """404: the request names something that does not exist (a backend, a route)."""


class Conflict(AdminRequestError):
    """409: the state in force forbids the request (a backend already a member,
    a heal with no partition, a switchover the failover core refuses)."""


class PayloadTooLarge(AdminRequestError):
    """413: the request's body is over the API's limit."""


class Invalid(AdminRequestError):
    """422: the request's body or a value in it cannot be taken (not JSON, a bad field)."""


class MillionscaleBug(AssertionError):
    """Base of the errors that mean millionscale broke its own rules: a bug to report,
    never bad input. Not a :class:`MillionscaleError`, so the command line lets it end
    in a traceback instead of printing it as the user's mistake."""


class IllegalTransition(MillionscaleBug):
    """A state machine was asked for a move its table does not hold
    (:class:`millionscale.statetable.StateTable`).

    ``state`` and ``event`` are the pair that was refused, ``allowed`` the events
    the table holds from that state (in table order), and ``to``, when the event
    was allowed but its outcome was not, the state the caller tried to reach.
    """

    def __init__(
        self,
        message: str,
        *,
        state: object = None,
        event: object = None,
        allowed: tuple[object, ...] = (),
        to: object = None,
    ) -> None:
        super().__init__(message)
        self.state, self.event, self.allowed, self.to = state, event, allowed, to
