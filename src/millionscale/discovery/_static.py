"""Discovery from a file or from arguments: a tier run on its own, or in a test."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from millionscale.discovery._claims import settle_claim
from millionscale.discovery._snapshot import Member, RoleClaim, Snapshot
from millionscale.errors import DiscoveryError

__all__ = ["StaticDiscovery"]

FILE_POLL_S = 0.5  # how often a watched file is looked at (its mtime and size)


class StaticDiscovery:
    """A :class:`~millionscale.discovery.Discovery` and
    :class:`~millionscale.discovery.RoleRegistry` held in memory, or read from a
    JSON file (:meth:`from_file`).

    With a file, ``watch()`` looks at it every ``FILE_POLL_S`` and yields its
    new content when it changed: an operator (or a test) edits the file to add
    or remove a member. A file that cannot be parsed while watched is skipped
    (the last good view stays) and :attr:`last_error` says why; one that cannot
    be parsed at :meth:`from_file` raises :class:`DiscoveryError`. Role claims
    are kept in memory (and written to the file, if there is one). ``update()``
    replaces the view in process; every change gets the next version.
    """

    def __init__(self, snapshot: Snapshot, *, path: Path | None = None) -> None:
        self._snapshot = snapshot
        self._path = path
        self._stamp = _stamp(path) if path is not None else None
        self.last_error: DiscoveryError | None = None

    @classmethod
    def of(
        cls, members: Iterable[Member], roles: dict[str, RoleClaim] | None = None
    ) -> StaticDiscovery:
        return cls(Snapshot(1, tuple(members), dict(roles or {})))

    @classmethod
    def from_file(cls, path: Path) -> StaticDiscovery:
        return cls(_read(path), path=path)

    @classmethod
    def from_backends(cls, tier: str, specs: Iterable[str]) -> StaticDiscovery:
        """Members of ``tier`` from ``NAME=HOST:PORT`` arguments (``--backend``)."""
        members = []
        for spec in specs:
            name, sep, address = spec.partition("=")
            host, colon, port = address.rpartition(":")
            if not sep or not colon or not name or not host or not port.isdigit():
                raise DiscoveryError(
                    f"{spec!r} is not NAME=HOST:PORT", hint="say web-1=10.0.0.2:8000, say"
                )
            members.append({"name": name, "tier": tier, "host": host, "ports": {"main": port}})
        return cls(Snapshot.from_json({"version": 1, "members": members}, source="arguments"))

    # -- the read side -------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        self._reread()
        return self._snapshot

    async def watch(self, after: int | None = None) -> AsyncIterator[Snapshot]:
        seen = after
        while True:
            self._reread()
            if seen is None or self._snapshot.version > seen:
                seen = self._snapshot.version
                yield self._snapshot
            await asyncio.sleep(FILE_POLL_S if self._path is not None else 0.05)

    # -- the write side ------------------------------------------------------

    def update(self, members: Iterable[Member]) -> Snapshot:
        """Replace the members (roles kept); the new snapshot."""
        return self._replace(members=tuple(members))

    async def claim(self, role: str, holder: str, epoch: int) -> RoleClaim:
        self._reread()
        wanted = RoleClaim(holder, epoch)
        if settle_claim(role, self._snapshot.roles.get(role), holder, epoch):
            self._replace(roles={**self._snapshot.roles, role: wanted})
        return wanted

    # -- inside --------------------------------------------------------------

    def _replace(self, **changes: object) -> Snapshot:
        version = self._snapshot.version + 1
        self._snapshot = dataclasses.replace(self._snapshot, version=version, **changes)  # type: ignore[arg-type]
        if self._path is not None:
            tmp = self._path.with_name(self._path.name + ".tmp")
            tmp.write_text(self._snapshot.dumps())
            tmp.replace(self._path)
            self._stamp = _stamp(self._path)
        return self._snapshot

    def _reread(self) -> None:
        if self._path is None:
            return
        stamp = _stamp(self._path)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            fresh = _read(self._path)
        except DiscoveryError as error:
            self.last_error = error
            return
        self.last_error = None
        # The file's own version may go backwards (an operator rewrote it):
        # versions handed out still only grow.
        version = max(fresh.version, self._snapshot.version + 1)
        self._snapshot = dataclasses.replace(fresh, version=version)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _read(path: Path) -> Snapshot:
    try:
        text = path.read_bytes()
    except OSError as error:
        raise DiscoveryError(
            f"cannot read discovery file {path}: {error.strerror}",
            hint="give the path of a snapshot written as JSON",
        ) from None
    return Snapshot.loads(text, source=str(path))
