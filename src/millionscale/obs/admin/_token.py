"""Secret files, and the admin token's: created once by ``up``, read (never created) by
every admin API.

:func:`read_secret` is the one rule for a file that holds a secret on one line
(the admin token, the failover monitor's password file): refused, with a
:class:`~millionscale.errors.ConfigError` naming the file and the fix, when it
is missing, empty, longer than a secret is, not a regular file (a link is not
followed), or open to anyone but its owner (any group or other permission bit:
OpenSSH refuses a private key on the same rule). The admin token file holds a
URL-safe random token; a reader never creates it: a process that finds none
was started outside ``up`` and must be given a token, not invent one that
nothing else knows.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from millionscale.errors import ConfigError

__all__ = [
    "MAX_TOKEN_BYTES",
    "TOKEN_BYTES",
    "TOKEN_FILE",
    "create_token",
    "load_token",
    "read_secret",
    "read_token",
    "token_file",
]

TOKEN_BYTES = 32  # 256 bits: the secrets module's advice for tokens that guard anything
MAX_TOKEN_BYTES = 4096  # ours: a token is one short line; more than this is not one
TOKEN_FILE = "admin-token"  # its name in a state directory (.millionscale/admin-token)


def token_file(state_dir: Path | None) -> Path | None:
    """Where the admin token of the state directory ``state_dir`` is (None for None)."""
    return None if state_dir is None else state_dir / TOKEN_FILE


_OTHERS = stat.S_IRWXG | stat.S_IRWXO  # OpenSSH refuses a key with any of these (0o077)


def read_secret(path: Path, what: str, *, missing_hint: str) -> str:
    """The secret on the one line of ``path`` (``what`` names it in messages, such as
    "admin token"); :class:`ConfigError` if missing, empty, too long or not private."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise ConfigError(f"no {what} at {path}", hint=missing_hint) from None
    except OSError as error:
        raise ConfigError(
            f"cannot read the {what} at {path}: {error.strerror or error}",
            hint="it must be a regular file (not a link) its owner can read",
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(
                f"the {what} at {path} is not a regular file", hint="give a file, not a link"
            )
        if info.st_mode & _OTHERS:
            raise ConfigError(
                f"the {what} at {path} is open to others (mode {stat.S_IMODE(info.st_mode):04o})",
                hint=f"make it owner-only: chmod 600 {path}",
            )
        raw = os.read(fd, MAX_TOKEN_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_TOKEN_BYTES:
        raise ConfigError(
            f"the {what} at {path} is longer than {MAX_TOKEN_BYTES} bytes: not one secret",
            hint="write the secret alone, on one line",
        )
    secret = raw.decode("utf-8", "replace").strip()
    if not secret:
        raise ConfigError(f"the {what} at {path} is empty", hint="write the secret on one line")
    return secret


def read_token(path: Path) -> str:
    """The admin token in ``path``, by :func:`read_secret`'s rule."""
    return read_secret(
        path,
        "admin token",
        missing_hint="start the topology with 'millionscale up', which creates it",
    )


def load_token(env: str, path: Path | None, *, environ: dict[str, str] | None = None) -> str:
    """The token from environment variable ``env`` if set, else read from ``path``.

    :class:`ConfigError` if neither gives one (the message says both ways).
    """
    token = (os.environ if environ is None else environ).get(env, "").strip()
    if token:
        return token
    if path is None:
        raise ConfigError("the admin API needs a token", hint=f"set {env} or --state-dir")
    return read_token(path)


def create_token(path: Path) -> str:
    """The token in ``path``, created owner-only (0600) if there is none yet; for ``up``.

    An existing token is kept (admin clients of a running topology hold it), but
    one open to others is refused as :func:`read_token` refuses it, rather than
    silently tightened: someone else may have read it.
    """
    if os.path.lexists(path):
        try:
            return read_token(path)
        except ConfigError:
            if not _empty_regular_file(path):
                raise
    token = secrets.token_urlsafe(TOKEN_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    os.replace(tmp, path)
    return token


def _empty_regular_file(path: Path) -> bool:
    info = os.lstat(path)
    return stat.S_ISREG(info.st_mode) and not path.read_bytes().strip()
