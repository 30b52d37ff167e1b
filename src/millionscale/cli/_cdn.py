"""``millionscale cdn``: the running topology's CDN edges (purge what they hold).

``cdn purge`` finds the edges in the supervisor's live discovery (every member
of tier ``cdn``, so edges added at run time too) and posts the purge to each
edge's admin API with the topology's admin token
(:class:`millionscale.cdn.purge.Purger`). It reaches an edge's admin API as
``lb`` reaches the balancer's (:mod:`millionscale.topology.admin`): on the
loopback of the edge's network namespace, the only place it listens when the
edge runs on a host.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from millionscale.cli._console import console, err_console
from millionscale.cli._discovery import with_control
from millionscale.cli._options import StateOption
from millionscale.cli._running import running_topology
from millionscale.errors import ConfigError, TopologyError
from millionscale.render import Column, Records
from millionscale.topology.state import DEFAULT_STATE_DIR, StateDir

if TYPE_CHECKING:
    from millionscale.cdn.purge import AdminAddress, Purge, PurgeKind, PurgeResult
    from millionscale.discovery import Member
    from millionscale.topology.resolve import ResolvedTopology

cdn_app = typer.Typer(help="The CDN's edges: purge what they hold.", no_args_is_help=True)


def purge_of(url: str | None, prefix: str | None, tag: str | None, soft: bool) -> Purge:
    """The one purge the options name; ConfigError for none or several, or a bad value."""
    from millionscale.cdn.purge import Purge

    given: list[tuple[PurgeKind, str | None]] = [("url", url), ("prefix", prefix), ("tag", tag)]
    named = [(kind, value) for kind, value in given if value is not None]
    if len(named) != 1:
        which = "several of" if named else "none of"
        raise ConfigError(
            f"{which} --url, --prefix and --tag given: a purge names one",
            hint="for instance 'millionscale cdn purge --tag photo-12'",
        )
    kind, value = named[0]
    return Purge(kind, value, soft)


class _TopologyEdges:
    """Where each edge's admin API is, and how to connect to it, from the running topology.

    An edge the topology file names, with a port named ``admin``, is reached
    inside its network namespace (if it has one), at its ``--admin-host``
    (127.0.0.1 without one); any other member of the tier where discovery says.
    """

    def __init__(self, topology: ResolvedTopology) -> None:
        from millionscale.topology.admin import ADMIN_HOST, ADMIN_PORT

        self._host, self._port = ADMIN_HOST, ADMIN_PORT
        self._processes = {p.name: p for p in topology.processes}
        self._namespaces: dict[str, str] = {}

    def locate(self, member: Member) -> AdminAddress:
        from millionscale.cdn.purge import AdminAddress, admin_edge

        process = self._processes.get(member.name)
        if process is None or self._port not in process.ports:
            return admin_edge(member)
        if process.netns is not None:
            self._namespaces[member.name] = process.netns
        from millionscale.topology.admin import admin_host

        return AdminAddress(
            member.name, admin_host(process.argv, self._host), process.ports[self._port]
        )

    async def connect(
        self, edge: AdminAddress
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        from millionscale.cdn.purge import open_tcp
        from millionscale.servers import netns

        namespace = self._namespaces.get(edge.name)
        if namespace is None:
            return await open_tcp(edge)
        sock = netns.socket_in(namespace)
        try:
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, (edge.host, edge.port))
        except BaseException:
            sock.close()
            raise
        return await asyncio.open_connection(sock=sock)


def _print_result(result: PurgeResult) -> None:
    columns: list[Column | str] = ["edge", "address", Column("purged", right=True)]
    columns += [Column("attempts", right=True), Column("time", right=True)]
    columns += [Column("result", free_text=True)]
    rows = [
        [
            r.edge,
            r.address or None,
            r.purged,
            r.attempts,
            f"{r.elapsed_s * 1000:.0f} ms",
            ("acknowledged" if r.ok else r.error or "")
            + (f"; applied below: {', '.join(r.followers)}" if r.followers else ""),
        ]
        for r in result.edges
    ]
    console.print(Records.of(columns, rows, title=result.purge.describe()))
    console.print(result.sentence(), markup=False, highlight=False)


def _result_json(result: PurgeResult) -> dict[str, Any]:
    return {
        "purge": {
            "kind": result.purge.kind,
            "value": result.purge.value,
            "soft": result.purge.soft,
        },
        "issued_at": result.issued_at,
        "complete": result.complete,
        "purged": result.purged,
        "lag_s": result.lag_s,
        "edges": [
            {
                "edge": r.edge,
                "address": r.address,
                "purged": r.purged,
                "attempts": r.attempts,
                "elapsed_s": r.elapsed_s,
                "error": r.error,
                "followers": list(r.followers),
                "pending": list(r.pending),
            }
            for r in result.edges
        ],
    }


def run_purge(state_dir: Path, purge: Purge) -> PurgeResult:
    """``purge`` on every edge of the topology running from ``state_dir``."""
    from millionscale.cdn.purge import TIER, Purger
    from millionscale.obs.admin import read_token

    topology = running_topology(state_dir)
    token = read_token(StateDir(state_dir).admin_token_file)
    edges = _TopologyEdges(topology)

    async def call(control: Any) -> PurgeResult:
        purger = Purger(control, token, locate=edges.locate, connect=edges.connect)
        return await purger.purge(purge)

    result: PurgeResult = with_control(state_dir, call)
    if not result.edges:
        raise TopologyError(
            f"topology {topology.name!r} runs no CDN edge (no live member of tier {TIER!r})",
            hint="start one that does, e.g. 'millionscale up topologies/cdn.toml'",
        )
    return result


@cdn_app.command("purge")
def cdn_purge(
    url: Annotated[
        str | None, typer.Option("--url", help="The object at this path (/static/app.css).")
    ] = None,
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="Every object under this path (/static/).")
    ] = None,
    tag: Annotated[
        str | None,
        typer.Option("--tag", help="Every object with this surrogate key (photo-12)."),
    ] = None,
    soft: Annotated[
        bool,
        typer.Option("--soft", help="Mark stale (revalidated, served stale on error) instead."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    state_dir: StateOption = DEFAULT_STATE_DIR,
) -> None:
    """Purge a URL, a prefix or a tag on every edge; each edge's count, and the lag to the
    last acknowledgement. Exits 1 when an edge was not purged."""
    purge = purge_of(url, prefix, tag, soft)
    result = run_purge(state_dir, purge)
    if as_json:
        print(json.dumps(_result_json(result), indent=2))
    else:
        _print_result(result)
    if not result.complete:
        err_console.print(
            f"error: {len(result.failed)} of {len(result.edges)} edges not purged "
            "(they keep their copies until these expire; see 'millionscale status')",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1)
