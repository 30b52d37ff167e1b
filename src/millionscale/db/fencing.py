"""Fencing: how the failover monitor makes sure an old primary takes no write.

The monitor decides (:mod:`millionscale.db.failover`); a :class:`Fencer`
carries out the two acts that need power over the node's machine, which the
monitor's SQL connection does not have:

- ``fence(node)``: STONITH. The node must accept no write once it returns.
- ``shut_down(node, within_s)``: PostgreSQL's fast shutdown, for a planned
  switchover (no acknowledged write is lost: the shutdown checkpoint and every
  WAL byte reach the standbys before the postmaster exits).

Implementations live with whoever runs the nodes: on one machine under
``millionscale up``, :mod:`millionscale.topology.fencing` kills the process it
started (found by pid and start time); under Kubernetes one would delete the
pod, on a cloud stop the instance, with Patroni rely on its watchdog.
:class:`CommandFencer` runs an operator's script, as pg_auto_failover and
Patroni's callbacks do. The monitor takes a fencer as an object, or by name
with :func:`load_fencer` (``MODULE:FACTORY=ARG``), so this package imports
none of them.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from millionscale.entrypoint import load_factory
from millionscale.errors import ConfigError, DatabaseError

__all__ = ["COMMAND_TIMEOUT_S", "CommandFencer", "Fencer", "command_fencer", "load_fencer"]

COMMAND_TIMEOUT_S = 30.0  # a fencing script that has not answered by then has failed


@runtime_checkable
class Fencer(Protocol):
    """Power over the machines the cluster's nodes run on.

    Contract:

    - ``fence(node)`` returns only once ``node``'s server accepts no write: it
      is killed (and its backends with it), its machine is off, or it is cut
      from every client. It returns a short sentence saying what it did ("killed
      db (pid 4242)", "db was not running"). A node already down is fenced.
      If it cannot guarantee it, it raises
      :class:`~millionscale.errors.DatabaseError`: the monitor then promotes no
      one (two primaries would lose acknowledged writes).
    - ``shut_down(node, within_s)`` asks the server a fast shutdown
      (PostgreSQL's SIGINT: clients disconnected, a shutdown checkpoint, every
      WAL byte flushed by the standbys) and waits up to ``within_s`` for it to
      exit. None once it is gone (or was not running), else a sentence saying
      why not; the monitor then fences it.
    - Neither restarts the node: whoever supervises it does, and the node comes
      back as a standby of the primary the cluster record names.
    """

    async def fence(self, node: str) -> str:
        """Make sure ``node`` accepts no write; what was done."""
        ...

    async def shut_down(self, node: str, within_s: float) -> str | None:
        """A clean shutdown of ``node``; None once it is gone, else why not."""
        ...


class CommandFencer:
    """A :class:`Fencer` that runs an operator's command.

    ``COMMAND fence NODE`` must exit 0 only once the node accepts no write;
    ``COMMAND stop NODE`` asks a fast shutdown and exits 0 once the server is
    gone. A non-zero exit, or no exit within ``COMMAND_TIMEOUT_S`` (or
    ``within_s`` for ``stop``), is a failure; the last line it wrote to
    stderr says why.
    """

    def __init__(self, command: Sequence[str]) -> None:
        if not command:
            raise ConfigError(
                "the fencing command is empty", hint="say command_fencer=/path/to/script"
            )
        self.command = tuple(command)

    async def _run(self, action: str, node: str, timeout_s: float) -> str | None:
        try:
            child = await asyncio.create_subprocess_exec(
                *self.command,
                action,
                node,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as error:
            return f"cannot run {self.command[0]}: {error.strerror}"
        try:
            async with asyncio.timeout(timeout_s):
                _, err = await child.communicate()
        except TimeoutError:
            child.kill()
            await child.wait()
            return f"{self.command[0]} {action} {node} did not finish in {timeout_s:g} s"
        if child.returncode != 0:
            last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            return f"{self.command[0]} {action} {node} exited {child.returncode}: {last[0]}"
        return None

    async def fence(self, node: str) -> str:
        failure = await self._run("fence", node, COMMAND_TIMEOUT_S)
        if failure is not None:
            raise DatabaseError(
                f"fencing {node} failed: {failure}",
                hint="fix the fencing command, then fence by hand",
            )
        return f"{self.command[0]} fenced {node}"

    async def shut_down(self, node: str, within_s: float) -> str | None:
        return await self._run("stop", node, within_s)


def command_fencer(command: str) -> CommandFencer:
    """The factory ``--fence millionscale.db.fencing:command_fencer=COMMAND`` names."""
    return CommandFencer(shlex.split(command))


def load_fencer(spec: str) -> Fencer:
    """The fencer ``MODULE:FACTORY=ARG`` names: ``FACTORY(ARG)`` (``FACTORY()`` without ``=``).

    The same ``module:attribute`` form as uvicorn's application or a console
    script's entry point: whoever runs the nodes names its fencer, and this
    package imports no supervisor. Raises :class:`ConfigError` for a name that
    does not load, or a factory that does not build a :class:`Fencer`.
    """
    factory, arg = load_factory(
        spec, flag="--fence", example="millionscale.db.fencing:command_fencer=/usr/local/bin/fence"
    )
    hint = "say MODULE:FACTORY=ARG (see --help)"
    try:
        fencer = factory(arg) if arg is not None else factory()
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"--fence {spec!r}: {spec.partition('=')[0]} refused it: {error}", hint=hint
        ) from None
    if not isinstance(fencer, Fencer):
        raise ConfigError(
            f"--fence {spec!r}: {spec.partition('=')[0]} built a {type(fencer).__name__}, not a Fencer",
            hint="a fencer has async fence(node) and shut_down(node, within_s)",
        )
    return fencer
