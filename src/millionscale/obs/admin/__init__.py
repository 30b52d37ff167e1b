"""Admin APIs' shared plumbing: the token, the guard, the error shape, the host.

The balancer's membership API, the failover monitor's and the fault proxy's
are built the same way, in three layers:

- **the token** (:func:`read_token`, :func:`load_token`): read from
  ``.millionscale/admin-token`` (or an environment variable), refused if the
  file is missing, empty or open to others; only ``up`` creates it
  (:func:`create_token`);
- **the guard** (:class:`BearerGuard`): every route but ``/healthz``,
  ``/readyz`` and ``/metrics`` wants ``Authorization: Bearer <token>``, the
  scheme in any case, the token compared in constant time;
- **the errors** (:data:`STATUS_OF`): a route raises an
  :class:`~millionscale.errors.AdminRequestError` subclass (``NotFound``,
  ``Conflict``, ``Invalid``, ...) and the answer is ``{"detail": reason}``
  with that type's status; Starlette's own 404 and 405 take the same shape;
- **the host** (:func:`admin_app`, :func:`listen`, :func:`serve_app`): a
  Starlette app with the three open routes and request metrics, on uvicorn,
  on a socket bound up front, stopped gracefully by SIGTERM;
- **the process** (:func:`run_admin_process`): the end of a main that serves
  an admin API: its ports checked, its token loaded, a bad setting one line
  and exit 2, then JSON logs and the event loop.
"""

from millionscale.obs.admin._errors import STATUS_OF, error_response, status_of
from millionscale.obs.admin._guard import OPEN_PATHS, UNAUTHORIZED, BearerGuard
from millionscale.obs.admin._host import SHUTDOWN_GRACE_S, admin_app, listen, serve_app
from millionscale.obs.admin._process import run_admin_process
from millionscale.obs.admin._token import (
    TOKEN_FILE,
    create_token,
    load_token,
    read_secret,
    read_token,
    token_file,
)

__all__ = [
    "OPEN_PATHS",
    "SHUTDOWN_GRACE_S",
    "STATUS_OF",
    "TOKEN_FILE",
    "UNAUTHORIZED",
    "BearerGuard",
    "admin_app",
    "create_token",
    "error_response",
    "listen",
    "load_token",
    "read_secret",
    "read_token",
    "run_admin_process",
    "serve_app",
    "status_of",
    "token_file",
]
