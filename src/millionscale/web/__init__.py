"""The stateless web tier: what lets any web server serve any user, and any die.

- :mod:`.sessions` keeps sessions out of the web process: the
  :class:`SessionStore` interface, its PostgreSQL and Redis implementations,
  session data that concurrent requests update without losing each other's
  changes (:class:`SessionUpdates`, Redis), and the signed cookie that
  carries only an opaque id;
- :mod:`.shutdown` lets a web process leave a balanced pool without failing
  a request: on SIGTERM it fails readiness while still serving (drain), then
  finishes the requests in flight and exits;
- :mod:`.caching` keeps what a web process answers out of shared caches
  (a CDN edge) unless its handler marked it public, and always when it sets a
  cookie (:class:`~.caching.PrivateByDefault`);
- :mod:`.placeholder` is the HTTP process of the single-server stage before
  the reference app (``python -m millionscale.web.placeholder``).
"""

from millionscale.web.sessions import (
    COOKIE_NAME,
    COUNTER_MAX,
    SESSION_TTL,
    PostgresSessionStore,
    RedisSessionStore,
    Session,
    SessionChanges,
    SessionCookie,
    SessionStore,
    SessionStoreStatistics,
    SessionUpdates,
)
from millionscale.web.shutdown import (
    DRAIN_S,
    GRACE_S,
    CloseWhileDraining,
    GracefulServer,
    GracefulShutdown,
    Phase,
    ShutdownState,
    serve,
)

__all__ = [
    "COOKIE_NAME",
    "COUNTER_MAX",
    "DRAIN_S",
    "GRACE_S",
    "SESSION_TTL",
    "CloseWhileDraining",
    "GracefulServer",
    "GracefulShutdown",
    "Phase",
    "PostgresSessionStore",
    "RedisSessionStore",
    "Session",
    "SessionChanges",
    "SessionCookie",
    "SessionStore",
    "SessionStoreStatistics",
    "SessionUpdates",
    "ShutdownState",
    "serve",
]
