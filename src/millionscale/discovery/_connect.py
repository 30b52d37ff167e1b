"""One string names a discovery source: what a tier's ``--discovery`` takes."""

from __future__ import annotations

import os
from pathlib import Path

from millionscale.discovery._http import HttpDiscovery
from millionscale.discovery._static import StaticDiscovery
from millionscale.errors import DiscoveryError

__all__ = ["TOKEN_FILE_ENV", "connect"]

# Where a process started by the supervisor finds the admin token that
# ``unix:`` sources want: the path of the state directory's admin-token file.
TOKEN_FILE_ENV = "MILLIONSCALE_DISCOVERY_TOKEN_FILE"


def connect(source: str, *, token: str | None = None) -> StaticDiscovery | HttpDiscovery:
    """The discovery source ``source`` names.

    - ``file:PATH`` or a bare ``PATH``: a JSON snapshot file, watched for changes
      (:class:`StaticDiscovery`);
    - ``unix:PATH``: the supervisor's control endpoint on that Unix socket
      (:class:`HttpDiscovery`), with ``token`` (the admin token); without one,
      the token is read from the file :data:`TOKEN_FILE_ENV` names, which the
      supervisor sets for every process whose command uses ``{discovery}``.

    Raises :class:`DiscoveryError` for a source it cannot open.
    """
    scheme, colon, rest = source.partition(":")
    if colon and scheme == "file":
        return StaticDiscovery.from_file(Path(rest))
    if colon and scheme == "unix":
        return HttpDiscovery(Path(rest), token if token is not None else _token_from_env(source))
    if colon and scheme.isalpha() and len(scheme) > 1:
        raise DiscoveryError(
            f"{source!r}: unknown discovery scheme {scheme!r}",
            hint="use file:PATH or unix:PATH",
        )
    return StaticDiscovery.from_file(Path(source))


def _token_from_env(source: str) -> str:
    path = os.environ.get(TOKEN_FILE_ENV)
    if not path:
        raise DiscoveryError(
            f"{source!r} wants the admin token, and {TOKEN_FILE_ENV} is not set",
            hint=f"set {TOKEN_FILE_ENV} to the state directory's admin-token file",
        )
    try:
        return Path(path).read_text().strip()
    except OSError as error:
        raise DiscoveryError(
            f"cannot read the admin token from {path} ({TOKEN_FILE_ENV}): {error.strerror}",
            hint="run the process as the user that started the topology",
        ) from None
