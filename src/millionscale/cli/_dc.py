"""``millionscale dc``: the data centers of the running topology, and losing one.

    millionscale dc status          each data center: its hosts, processes, link state
    millionscale dc cut NAME        cut NAME off: its wide-area port and public links down
    millionscale dc join NAME       join it again

A cut is what the rest of the world sees of a lost data center: nothing
reaches it, neither the other data centers (the wide-area link,
:mod:`millionscale.chaos.wanlink`) nor users (its edges' public links). Its
processes run on, alone; kill them too to lose them as a fire would. It needs
root, as the network it cuts does.
"""

from __future__ import annotations

from typing import Annotated

import typer

from millionscale.cli._console import console
from millionscale.cli._options import StateOption
from millionscale.cli._running import running_topology
from millionscale.errors import TopologyError
from millionscale.render import Records
from millionscale.topology.network import NetworkPlan, cut, is_cut
from millionscale.topology.resolve import ResolvedTopology
from millionscale.topology.state import DEFAULT_STATE_DIR

dc_app = typer.Typer(
    help="Data centers: see them, cut one off, join it again.", no_args_is_help=True
)

NameArgument = Annotated[str, typer.Argument(help="The data center, as the topology names it.")]


def _network(topology: ResolvedTopology) -> NetworkPlan:
    network = topology.network
    if network is None or network.wan is None:
        raise TopologyError(
            f"topology {topology.name} runs in one data center: there is nothing to cut it from",
            hint="topologies/multi-dc.toml runs several",
        )
    return network


@dc_app.command()
def status(state_dir: StateOption = DEFAULT_STATE_DIR) -> None:
    """Each data center of the running topology: hosts, processes and link."""
    topology = running_topology(state_dir)
    network = topology.network
    sites = network.datacenters if network is not None else ["dc1"]
    rows = []
    for site in sites:
        hosts = [h.name for h in topology.hosts if h.datacenter == site]
        processes = [p.name for p in topology.processes if p.datacenter == site]
        link = "-"
        if network is not None and network.wan is not None:
            link = "cut off" if is_cut(network, site) else "joined"
        rows.append((site, link, ", ".join(hosts) or "-", ", ".join(processes) or "-"))
    wan = "one data center: no wide-area link"
    if network is not None and network.wan is not None:
        jitter = f" ±{network.wan_jitter_ms:g}" if network.wan_jitter_ms else ""
        wan = f"wide-area link: {network.wan_latency_ms:g}{jitter} ms one way between any two"
    console.print(Records.of(["datacenter", "link", "hosts", "processes"], rows, title=wan))


@dc_app.command("cut")
def cut_off(name: NameArgument, state_dir: StateOption = DEFAULT_STATE_DIR) -> None:
    """Cut data center NAME off from the others and from users."""
    network = _network(running_topology(state_dir))
    links = cut(network, name)
    console.print(f"{name} cut off: {', '.join(links)} down", markup=False, highlight=False)


@dc_app.command("join")
def join_again(name: NameArgument, state_dir: StateOption = DEFAULT_STATE_DIR) -> None:
    """Join data center NAME to the others and to users again."""
    network = _network(running_topology(state_dir))
    links = cut(network, name, down=False)
    console.print(f"{name} joined: {', '.join(links)} up", markup=False, highlight=False)
