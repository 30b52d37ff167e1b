"""One string names a discovery source: what a tier's ``--discovery`` takes."""

from __future__ import annotations

from pathlib import Path

from millionscale.discovery._static import StaticDiscovery
from millionscale.errors import DiscoveryError

__all__ = ["connect"]


def connect(source: str, *, token: str | None = None) -> StaticDiscovery:
    """The discovery source ``source`` names.

    - ``file:PATH`` or a bare ``PATH``: a JSON snapshot file, watched for changes
      (:class:`StaticDiscovery`);
    - ``unix:PATH``: the supervisor's control endpoint on that Unix socket, with
      ``token`` (the admin token) — served by :mod:`millionscale.topology`.

    Raises :class:`DiscoveryError` for a source it cannot open.
    """
    scheme, colon, rest = source.partition(":")
    if colon and scheme == "file":
        return StaticDiscovery.from_file(Path(rest))
    if colon and scheme == "unix":
        raise DiscoveryError(
            f"{source!r}: the control endpoint client is not built yet",
            hint="give a snapshot file (file:PATH)",
        )
    if colon and scheme.isalpha() and len(scheme) > 1:
        raise DiscoveryError(
            f"{source!r}: unknown discovery scheme {scheme!r}",
            hint="use file:PATH or unix:PATH",
        )
    return StaticDiscovery.from_file(Path(source))
