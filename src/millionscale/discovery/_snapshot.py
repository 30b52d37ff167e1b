"""The frozen records discovery hands out, and their JSON form."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Literal, TypeVar, get_args

import pydantic

from millionscale.errors import DiscoveryError

__all__ = ["HEALTH", "LEAVING", "Health", "Member", "RoleClaim", "Scaled", "Snapshot"]

_CONFIG = pydantic.ConfigDict(extra="forbid")
Name = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=253)]
Port = Annotated[int, pydantic.Field(ge=1, le=65535)]
Count = Annotated[int, pydantic.Field(ge=0)]

Record = TypeVar("Record")

Health = Literal["starting", "ready", "unready", "stopping", "stopped", "failed"]
HEALTH: tuple[Health, ...] = get_args(Health)
# Health a member has while it leaves or once it left: a reader stops sending it work.
LEAVING: frozenset[Health] = frozenset({"stopping", "stopped", "failed"})


@dataclass(frozen=True, slots=True)
class Member:
    """One process as discovery knows it.

    ``role`` is what the member does for its tier (``app``, ``balancer``,
    ``primary``, ``replica``); for a member whose role changes at run time (a
    database node), the role claims of the snapshot are the authority and
    ``role`` follows them. ``ports`` name every port it listens on (``main``,
    and extras such as ``admin``); ``host`` is the address to reach it at from
    where discovery is read (its place on a private subnet, say).
    """

    __pydantic_config__ = _CONFIG

    name: Name
    tier: Name
    host: Name
    ports: Mapping[Name, Port]
    role: str = ""
    datacenter: Name = "local"
    health: Health = "ready"

    def address(self, port: str = "main") -> str:
        """``host:port`` for the port named ``port``."""
        try:
            return f"{self.host}:{self.ports[port]}"
        except KeyError:
            raise DiscoveryError(
                f"{self.name} has no port named {port!r} (it has: {', '.join(self.ports)})",
                hint="name one of its ports",
            ) from None

    @property
    def ready(self) -> bool:
        return self.health == "ready"


@dataclass(frozen=True, slots=True)
class RoleClaim:
    """``holder`` holds the role since ``epoch`` (a fencing token: higher wins)."""

    __pydantic_config__ = _CONFIG

    holder: Name
    epoch: Count


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The live system at one ``version``: members and role claims.

    Roles are keyed ``group/role`` (``db/primary``). A snapshot is immutable;
    a change is a new snapshot with a higher version.
    """

    __pydantic_config__ = _CONFIG

    version: Count
    members: tuple[Member, ...] = ()
    roles: Mapping[Name, RoleClaim] = field(default_factory=dict)

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    def tier(self, tier: str, *, ready_only: bool = False) -> tuple[Member, ...]:
        """The members of ``tier``, in the snapshot's order (only ready ones if asked)."""
        return tuple(m for m in self.members if m.tier == tier and (m.ready or not ready_only))

    def holder(self, role: str) -> Member | None:
        """The member that holds ``role`` (``db/primary``), if any holds it and is known."""
        claim = self.roles.get(role)
        return self.member(claim.holder) if claim is not None else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"members": [asdict(m) for m in self.members]}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, data: object, *, source: str = "discovery") -> Snapshot:
        """The snapshot ``data`` describes; a DiscoveryError saying what is wrong if not."""
        snapshot = _validated(
            _ADAPTER, data, source, "a snapshot is {'version': N, 'members': [...], 'roles': {...}}"
        )
        names = [m.name for m in snapshot.members]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise DiscoveryError(
                f"{source}: member {twice[0]!r} is listed more than once",
                hint="give every member its own name",
            )
        return snapshot

    @classmethod
    def loads(cls, text: str | bytes, *, source: str = "discovery") -> Snapshot:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise DiscoveryError(
                f"{source}: not JSON ({error})", hint="a snapshot is a JSON object"
            ) from None
        return cls.from_json(data, source=source)


_ADAPTER = pydantic.TypeAdapter(Snapshot)


@dataclass(frozen=True, slots=True)
class Scaled:
    """What scaling a replicated process did: ``name`` now has ``replicas`` live ones;
    ``started`` are starting (in rotation once ready), ``drained`` are stopping (out of
    rotation now, gone once drained). The control endpoint's answer to ``POST /v1/scale``."""

    __pydantic_config__ = _CONFIG

    name: Name
    replicas: Count
    started: tuple[Member, ...] = ()
    drained: tuple[Member, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object, *, source: str = "discovery") -> Scaled:
        """The answer ``data`` describes; a DiscoveryError saying what is wrong if not."""
        return _validated(
            _SCALED, data, source, "a scaling is {'name', 'replicas', 'started', 'drained'}"
        )


_SCALED = pydantic.TypeAdapter(Scaled)


def _validated(
    adapter: pydantic.TypeAdapter[Record], data: object, source: str, hint: str
) -> Record:
    """``data`` as the record ``adapter`` reads; a DiscoveryError naming where it is wrong."""
    try:
        return adapter.validate_python(data)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise DiscoveryError(f"{source}: {where}: {first['msg']}", hint=hint) from None
