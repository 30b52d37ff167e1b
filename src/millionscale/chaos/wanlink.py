"""The wide-area link as a process: raw sockets on each data center's port.

    python -m millionscale.chaos.wanlink --namespace ms-ID-wan --latency-ms 20 \\
        [--jitter-ms 1] dc1 dc2 [dc3 ...]

Each PORT is a network interface in ``--namespace`` (a veth whose other end
is a port of one data center's bridge: :func:`millionscale.topology.network.build`
makes them). Frames read from one are handed to :class:`~millionscale.chaos.wan.WanSwitch`
and written out of the others at the times it says. The sockets ask the
kernel for the ``virtio_net_hdr`` in front of each frame (``PACKET_VNET_HDR``),
so a large TCP segment the veth has not cut up crosses whole, with its
offload header, and is cut up on the far side, as a hypervisor's tap does.

A port that is down (its data center cut off) loses what is sent to it.
SIGTERM or SIGINT stops the link; bad arguments exit 2 with one line.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import socket
import sys

import structlog

from millionscale.aio import FlagParser, run_main
from millionscale.chaos.faults import Link
from millionscale.chaos.wan import WanSwitch
from millionscale.errors import ConfigError
from millionscale.obs.logging import configure_logging
from millionscale.servers import netns

__all__ = ["main", "open_port"]

log = structlog.get_logger()

SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_OUTGOING = 4  # a frame this socket's interface sent: not one to forward
ETH_P_ALL = 0x0003
VNET_HEADER = 10  # struct virtio_net_hdr
READ_BYTES = 65_536 + VNET_HEADER  # a whole offloaded segment
BATCH = 64  # frames read per wake-up before the loop runs anything else


def open_port(namespace: str, interface: str) -> socket.socket:
    """A raw socket on ``interface`` in ``namespace``, with the offload header."""

    def make() -> socket.socket:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
            sock.bind((interface, 0))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        return sock

    try:
        return netns.run_in(namespace, make)
    except OSError as error:
        raise ConfigError(
            f"cannot open port {interface} in namespace {namespace}: {error.strerror or error}",
            hint="the link needs root, and the topology's network built first",
        ) from None


async def carry(switch: WanSwitch, ports: dict[str, socket.socket], stop: asyncio.Event) -> None:
    """Forward frames between ``ports`` until ``stop`` is set."""
    loop = asyncio.get_running_loop()

    def send(target: str, data: bytes) -> None:
        try:
            ports[target].send(data)
        except OSError:
            switch.dropped += 1  # the port is down (cut off) or its queue is full: lost

    def readable(port: str) -> None:
        sock = ports[port]
        for _ in range(BATCH):
            try:
                data, address = sock.recvfrom(READ_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # the interface went down under us; it may come back
            if address[2] == PACKET_OUTGOING:
                continue
            now = loop.time()
            for crossing in switch.frame(port, data[VNET_HEADER:], now):
                loop.call_at(crossing.at, send, crossing.port, data)

    for port, sock in ports.items():
        loop.add_reader(sock.fileno(), readable, port)
    try:
        await stop.wait()
    finally:
        for sock in ports.values():
            loop.remove_reader(sock.fileno())


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a number of ms") from None
    if not 0 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"{value} ms is out of range (0 to 10000)")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = FlagParser(
        prog="python -m millionscale.chaos.wanlink",
        description="Carry Ethernet frames between data centers' ports, late.",
    )
    parser.add_argument("ports", nargs="+", metavar="PORT", help="interfaces, one per site")
    parser.add_argument("--namespace", required=True, help="the network namespace of the ports")
    parser.add_argument("--latency-ms", type=_milliseconds, required=True, help="one way")
    parser.add_argument("--jitter-ms", type=_milliseconds, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    return parser


async def _serve(args: argparse.Namespace) -> None:
    link = Link(latency_s=args.latency_ms / 1000, jitter_s=args.jitter_ms / 1000)
    switch = WanSwitch(tuple(args.ports), link, random.Random(args.seed))
    ports = {port: open_port(args.namespace, port) for port in args.ports}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("wide-area link up", ports=list(ports), latency=link.describe())
    try:
        await carry(switch, ports, stop)
    finally:
        for sock in ports.values():
            sock.close()
        log.info("wide-area link down", forwarded=switch.forwarded, dropped=switch.dropped)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    configure_logging("wanlink")
    return run_main(_serve(args))  # a MillionscaleError: one line, exit 2


if __name__ == "__main__":
    raise SystemExit(main())
