"""Our GeoDNS server beside PowerDNS 4.7 (GeoIP backend) and gdnsd 3.8: queries per second,
latency and lost queries.

One run, the same zone, the same GeoIP database, the same query files, the same core for
every server:

- **zone**: ``topologies/geodns/photos.zone.toml`` (two data centers; ``www`` by
  continent, ``near`` by distance, ``static`` a CNAME to ``www``, SOA, NS with glue
  and a TXT at the apex) without its ``check`` URLs, which point off loopback: with
  none, every data center is healthy, as on the peers, which get no checks. The
  peers' configurations are rendered from it (:mod:`millionscale.geodns.peers`).
- **GeoIP database** (:data:`NETWORKS`): six client networks in GeoIP2-City's
  layout (EU Frankfurt, NA San Francisco, SA Sao Paulo, AS Tokyo, AF Cape Town,
  OC without coordinates; a seventh, "unknown", is in no record) and each data
  center's address at the zone's coordinates (PowerDNS's ``pickclosest`` reads
  them there), written with ``location.accuracy_radius`` (PowerDNS reads no
  location without one). The networks are /8s of 240.0.0.0/4 (reserved): clients
  appear only inside the EDNS Client Subnet option, and no packet goes anywhere but
  127.0.0.1.
- **queries** (:data:`MIX`, dnsperf's ``-B`` wire format): all EDNS 0 (payload
  1232) with RD clear, as a resolver asks an authoritative server; the ECS option
  carries a /24 of the client's network. 42% ``www A`` from the seven networks
  (6% each), 5% ``www A`` without ECS, 16% ``near A`` from EU, NA, SA and AF (4%
  each), 12% ``static A`` (the CNAME to ``www``) from EU, NA and AS, 5% each of
  apex SOA, NS and TXT, an NXDOMAIN name and ``www AAAA`` (NODATA). ``near`` is not
  asked from AS or OC: there PowerDNS's ``pickclosest`` (flat latitude/longitude
  differences; an unlocated client at (0, 0)) answers otherwise than the great
  circle of ours and gdnsd, which the answer check shows as *probes*, not in the
  files. Two files of that mix:

  - ``mix`` (``--queries``, 50,000): the /24s are drawn from 256 per network, some
    4,600 distinct queries: after the warm-up they all sit in ours' packet cache,
    so this is answering a working set that fits. PowerDNS's packet cache answers
    only the quarter without ECS (its hit ratio is measured, through
    ``pdns_control``, and printed); gdnsd has none;
  - ``distinct`` (``--distinct-queries`` per round, 200,000, a new file for every
    round and the warm-up): every ECS query has its own /24 (of the 65,536 of its
    network; one file's follow the file's before), so the caches miss on them (the
    non-ECS quarter still hits): the cost of working an answer out. A run that
    sends more queries than its file holds loops over it, and is marked so:
    PowerDNS and gdnsd do at their rates, and it costs them nothing, since
    PowerDNS's packet cache does not answer ECS queries (its hit ratio shows it)
    and gdnsd has none; ours does not.

- **servers**, each on CPU 0 (``sched_setaffinity``, every thread of it): ``python
  -m millionscale.geodns`` (one process, uvloop, its packet cache); pdns_server with
  the GeoIP backend, ECS processing, shared-state Lua records, one receiver and one
  distributor thread, its packet cache on (the settings and why:
  :mod:`millionscale.geodns.peers`); gdnsd with one UDP thread. dnsperf (one
  sending and one receiving thread) and this script share CPU 1. The busy share of
  each CPU during a run says which side was the bottleneck: a server at ~100% of
  CPU 0 is; at CPU 1's ~100% dnsperf is, and the figure is dnsperf's ceiling, not
  the server's (gdnsd's, in trials).

First, **the answers** are checked: every distinct query of the ``mix`` file, 500
of the ``distinct`` warm-up file and the probes, asked of every server with
dnspython over UDP; rcode, AA, the answer, authority and additional sections (TTLs
included) and the ECS scope are compared with ours, and every difference is kept
in the JSON (grouped by kind of query and field, with an example).

What is measured:

1. **saturation**: dnsperf over UDP, closed loop with ``-q 100`` queries outstanding
   (``--outstanding``; dnsperf's default), ``--seconds`` (10) per run after a 2 s
   warm-up per server and file; ``--rounds`` rounds (3), the order of servers
   rotated every round. 100 outstanding fit well inside a server's UDP receive
   buffer (Linux's default 208 KiB holds some 300 small datagrams), so the kernel
   drops none: in a trial ``-q 500`` lost about 300 queries on every server in its
   first burst, and ``-q 20`` left ours and gdnsd short of their maximum (ours
   49,000 q/s against 73,000 at ``-q 100``).
   A lost query is one dnsperf had no answer to within 5 s (``-t``). Per server and
   file: the median queries/s over the rounds, dnsperf's average latency and its
   standard deviation (the median of the rounds'; at that saturating load a
   closed-loop latency), the queries lost over all runs, and each run.
2. **latency at one rate** (``--latency-seconds``, 5; 0 skips it): the ``mix``
   file at the same rate for every server, ``--latency-qps`` or half the slowest
   server's median on it, with dnsperf's ``-v`` (each query's latency): p50, p99
   and p99.9 per run, the median over the rounds.
3. **profile** (``--profile-seconds``, 10; 0 skips it): py-spy samples ours
   (200/s, pausing it for each sample: in a trial ``--nonblocking`` put a fifth of
   the samples in no frame at all) while dnsperf loads it with a ``distinct`` file,
   where its answers are worked out rather than found in its cache: the share of
   samples per layer (dnspython parsing the query, building the reply, rendering
   it; our authority, policy, locator; the asyncio shell; the event loop) and the
   top functions by own time, idle threads' samples left out. A sample is put in
   dnspython's layers by the first
   dnspython function on its stack (``from_wire``: parsing, ``to_wire``:
   rendering, anything else: building), otherwise by its innermost frame of ours.
   py-spy sees Python frames only: time in C counts for the Python line that
   called it (maxminddb's lookups for the locator's, uvloop's loop for
   ``asyncio.run``).

The goal, from the issue: at least 0.25x PowerDNS's queries/s with 0 lost queries;
the verdict is printed for both files, and ``mix`` is the file the goal is judged
on. Runs during which other processes on the machine used over 5% of a CPU are
run again, as in ``bench/lb_throughput.py``, whose structure and JSON shape this
follows (``--attempts``, ``--quiet-wait-s``). ``--quick``: 1 round of 3 s, smaller
files, no waiting for a quiet machine (a check that it works, not figures; to
``bench/results/geodns_qps.quick.json`` unless ``--json`` says otherwise).

    .venv/bin/python -m millionscale.servers.install --peers   # dnsperf, pdns, gdnsd
    .venv/bin/python bench/geodns_qps.py [--rounds 3] [--seconds 10]
        [--latency-seconds 5] [--latency-qps 0] [--outstanding 100]
        [--queries 50000] [--distinct-queries 200000] [--profile-seconds 10] [--attempts 3]
        [--quiet-wait-s 120] [--quick] [--json bench/results/geodns_qps.json]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import functools
import json
import random
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from millionscale.bench import wrk as harness
from millionscale.bench.provenance import at_least, over_runs, provenance
from millionscale.errors import MillionscaleError
from millionscale.geodns.geoip import Place, write_database
from millionscale.geodns.peers import (
    GDNSD,
    OURS,
    POWERDNS,
    Peer,
    start_gdnsd,
    start_ours,
    start_powerdns,
)
from millionscale.geodns.zone import load_zone
from millionscale.testing import Metrics

SERVER_CPU = 0
REST_CPU = 1  # dnsperf and this script
WARMUP_S = 2
OUTSTANDING = 100  # dnsperf's default -q: below what one UDP socket's default buffer holds
DNSPERF_TIMEOUT_S = 5  # dnsperf's default -t: an answer later than this is a lost query
DNSPERF_SLACK_S = 30  # beyond a run's duration before dnsperf counts as hung
CHECK_TIMEOUT_S = 2.0
CHECK_SAMPLE = 500  # of the distinct warm-up file, in the answer check
PAYLOAD = 1232  # what resolvers advertise since DNS Flag Day 2020
ECS_PREFIX = 24  # RFC 7871 §11.1: resolvers should send at most 24 bits of IPv4
GOAL = 0.25  # of PowerDNS's queries/s, with 0 lost (from the issue)
FULL_CPU = 0.95  # a CPU busier than this during a run was the bottleneck
ZONE = Path("topologies/geodns/photos.zone.toml")
STARTERS: dict[str, Callable[..., Peer]] = {
    OURS: start_ours,
    POWERDNS: start_powerdns,
    GDNSD: start_gdnsd,
}

# Client networks: a /8 of 240.0.0.0/4 each (reserved; they only travel inside ECS).
NETWORKS: dict[str, tuple[int, Place | None]] = {
    "EU": (240, Place("EU", "DE", 50.11, 8.68)),  # Frankfurt
    "NA": (241, Place("NA", "US", 37.77, -122.42)),  # San Francisco
    "SA": (242, Place("SA", "BR", -23.55, -46.63)),  # Sao Paulo
    "AS": (243, Place("AS", "JP", 35.68, 139.69)),  # Tokyo
    "AF": (244, Place("AF", "ZA", -33.92, 18.42)),  # Cape Town
    "OC": (245, Place("OC", "AU")),  # a country, no coordinates
    "unknown": (246, None),  # in no record of the database
}
# Where the data centers' addresses are, for PowerDNS's pickclosest (the zone's coordinates).
DATACENTER_PLACES = {"us-east": ("NA", "US"), "eu-west": ("EU", "IE")}


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of query of the mix: a name, a type, the client's network (None: no ECS)."""

    qname: str
    qtype: str
    network: str | None
    weight: int  # percent of the file

    @property
    def label(self) -> str:
        return f"{self.qname} {self.qtype} " + (f"ECS {self.network}" if self.network else "no ECS")


def _mix() -> list[Kind]:
    kinds = [Kind("www", "A", network, 6) for network in NETWORKS]
    kinds.append(Kind("www", "A", None, 5))
    kinds += [Kind("near", "A", network, 4) for network in ("EU", "NA", "SA", "AF")]
    kinds += [Kind("static", "A", network, 4) for network in ("EU", "NA", "AS")]
    kinds += [Kind("@", qtype, None, 5) for qtype in ("SOA", "NS", "TXT")]
    kinds += [Kind("nothing-here", "A", None, 5), Kind("www", "AAAA", "EU", 5)]
    return kinds


MIX = _mix()
# Asked in the answer check only: where PowerDNS's pickclosest is known to differ.
PROBES = [Kind("near", "A", "AS", 0), Kind("near", "A", "OC", 0)]


def _qname(kind: Kind, origin: str) -> str:
    return origin if kind.qname == "@" else f"{kind.qname}.{origin}"


def _template(kind: Kind, origin: str) -> bytes:
    """The query's wire format, ID 0 (dnsperf sets its own), ECS address 0.0.0.0 last."""
    options: list[dns.edns.Option] = (
        [dns.edns.ECSOption("0.0.0.0", ECS_PREFIX)] if kind.network else []
    )
    query = dns.message.make_query(
        _qname(kind, origin), kind.qtype, use_edns=0, payload=PAYLOAD, options=options
    )
    query.id = 0
    query.flags = 0  # RD clear: a resolver asking an authoritative server
    wire = query.to_wire()
    if kind.network:
        assert wire.endswith(b"\x00\x00\x00"), "the ECS address is the message's last bytes"
    return wire


def _with_subnet(template: bytes, first: int, second: int, third: int) -> bytes:
    return template[:-3] + bytes((first, second, third))


def build_queries(
    count: int, origin: str, *, seed: int, distinct_from: int | None = None
) -> list[tuple[Kind, bytes]]:
    """``count`` queries of :data:`MIX`, shuffled by ``seed``. Repeating (``distinct_from``
    None): each ECS /24 drawn from the first 256 of its network; distinct: every ECS
    query of a kind gets the next /24 of its network from ``distinct_from`` on."""
    rng = random.Random(seed)
    templates = {kind: _template(kind, origin) for kind in MIX}
    counters = dict.fromkeys(MIX, distinct_from or 0)
    queries = []
    for kind in rng.choices(MIX, weights=[k.weight for k in MIX], k=count):
        wire = templates[kind]
        if kind.network is not None:
            first = NETWORKS[kind.network][0]
            if distinct_from is None:
                wire = _with_subnet(wire, first, 0, rng.randrange(256))
            else:
                index = counters[kind] % 65536
                counters[kind] += 1
                wire = _with_subnet(wire, first, index >> 8, index & 0xFF)
        queries.append((kind, wire))
    return queries


def write_query_file(path: Path, queries: Iterable[tuple[Kind, bytes]]) -> Path:
    """dnsperf's ``-B`` input: each message behind its two-byte length (RFC 1035 §4.2.2)."""
    path.write_bytes(b"".join(struct.pack("!H", len(wire)) + wire for _, wire in queries))
    return path


def write_geoip(path: Path, zone_file: Path) -> Path:
    networks: dict[str, Place] = {
        f"{first}.0.0.0/8": place for first, place in NETWORKS.values() if place is not None
    }
    zone = load_zone(zone_file)
    for name, dc in zone.datacenters.items():
        continent, country = DATACENTER_PLACES[name]
        for address in dc.addresses:
            networks[f"{address}/{address.max_prefixlen}"] = Place(
                continent, country, dc.latitude, dc.longitude
            )
    return write_database(path, networks)


def zone_without_checks(path: Path) -> Path:
    """The shipped zone, less its ``check`` URLs (they point off loopback)."""
    text = re.sub(r"(?m)^check\s*=.*\n", "", ZONE.read_text())
    path.write_text(text)
    zone = load_zone(path)
    assert all(dc.check is None for dc in zone.datacenters.values())
    return path


# -- the answer check ---------------------------------------------------------

ANSWER_FIELDS = frozenset({"rcode", "aa", "answer", "authority", "error"})


def _lines(rrsets: Iterable[Any]) -> list[str]:
    return sorted(line for rrset in rrsets for line in rrset.to_text().splitlines())


def view(reply: dns.message.Message) -> dict[str, Any]:
    """What the check compares of a reply."""
    ecs = next((o for o in reply.options if isinstance(o, dns.edns.ECSOption)), None)
    return {
        "rcode": dns.rcode.to_text(reply.rcode()),
        "aa": bool(reply.flags & dns.flags.AA),
        "answer": _lines(reply.answer),
        "authority": _lines(reply.authority),
        "additional": _lines(reply.additional),
        "ecs_scope": None if ecs is None else ecs.scopelen,
    }


def ask(peer: Peer, wire: bytes) -> dict[str, Any]:
    query = dns.message.from_wire(wire)
    query.id = random.randrange(65536)
    try:
        return view(dns.query.udp(query, peer.host, CHECK_TIMEOUT_S, port=peer.port))
    except (dns.exception.DNSException, OSError) as error:
        return {"error": f"{type(error).__name__}: {error}"}


def _describe(wire: bytes) -> str:
    query = dns.message.from_wire(wire)
    ecs = next((o for o in query.options if isinstance(o, dns.edns.ECSOption)), None)
    subnet = f" ECS {ecs.address}/{ecs.srclen}" if ecs else ""
    return f"{query.question[0].name} {dns.rdatatype.to_text(query.question[0].rdtype)}{subnet}"


def check_answers(
    peers: Sequence[Peer], queries: Sequence[tuple[Kind, bytes, bool]]
) -> dict[str, Any]:
    """Every query asked of every peer, compared with the first (ours): how many of the
    query files' queries differ at all and in what the client is told (rcode, AA, the
    answer and authority sections; not the additional section or the ECS scope), and
    the differences grouped by (peer, kind, field) with their count and one example."""
    reference, others = peers[0], peers[1:]
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    differing: dict[str, set[bytes]] = {peer.name: set() for peer in others}
    differing_answer: dict[str, set[bytes]] = {peer.name: set() for peer in others}
    for kind, wire, in_files in queries:
        expected = ask(reference, wire)
        for peer in others:
            got = ask(peer, wire)
            fields = sorted(set(expected) | set(got))
            changed = [f for f in fields if expected.get(f) != got.get(f)]
            if changed and in_files:
                differing[peer.name].add(wire)
                if set(changed) & ANSWER_FIELDS:
                    differing_answer[peer.name].add(wire)
            for name in changed:
                key = (peer.name, kind.label, name)
                if key not in groups:
                    groups[key] = {
                        "server": peer.name,
                        "kind": kind.label,
                        "in_query_files": in_files,
                        "field": name,
                        "count": 0,
                        "example": _describe(wire),
                        reference.name: expected.get(name),
                        "theirs": got.get(name),
                    }
                groups[key]["count"] += 1
    return {
        "reference": reference.name,
        "queries_checked": len(queries),
        "queries_differing": {name: len(wires) for name, wires in differing.items()},
        "queries_differing_in_the_answer": {
            name: len(wires) for name, wires in differing_answer.items()
        },
        "differences": sorted(groups.values(), key=lambda g: (g["server"], g["kind"], g["field"])),
    }


# -- dnsperf ------------------------------------------------------------------

_FIGURES = {
    "sent": r"Queries sent:\s+(\d+)",
    "completed": r"Queries completed:\s+(\d+)",
    "lost": r"Queries lost:\s+(\d+)",
    "queries_per_s": r"Queries per second:\s+([\d.]+)",
    "avg_latency_ms": r"Average Latency \(s\):\s+([\d.]+)",
    "min_latency_ms": r"Average Latency \(s\):\s+[\d.]+ \(min ([\d.]+)",
    "max_latency_ms": r"Average Latency \(s\):.*max ([\d.]+)\)",
    "stddev_latency_ms": r"Latency StdDev \(s\):\s+([\d.]+)",
}


def parse_dnsperf(out: str) -> dict[str, Any]:
    """dnsperf's statistics, latencies in ms; ValueError if it printed none."""
    figures: dict[str, Any] = {}
    for name, pattern in _FIGURES.items():
        found = re.search(pattern, out)
        if found is None:
            raise ValueError(f"cannot read dnsperf's output ({name}): {out[-600:]}")
        value = float(found.group(1))
        figures[name] = value * 1000 if name.endswith("_ms") else value
    for name in ("sent", "completed", "lost"):
        figures[name] = int(figures[name])
    interrupted = re.search(r"Queries interrupted:\s+(\d+)", out)
    figures["interrupted"] = int(interrupted.group(1)) if interrupted else 0
    codes = re.search(r"Response codes:\s+(.*)", out)
    figures["rcodes"] = (
        {c: int(n) for c, n in re.findall(r"([A-Z]+) (\d+) \(", codes.group(1))} if codes else {}
    )
    return figures


def percentile(ordered: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of ``ordered`` (sorted, not empty)."""
    return ordered[min(len(ordered) - 1, max(0, int(share * len(ordered) + 0.999999) - 1))]


def run_dnsperf(
    peer: Peer,
    query_file: Path,
    file_queries: int,
    seconds: int,
    outstanding: int,
    *,
    rate: int | None = None,
) -> dict[str, Any]:
    """One dnsperf run at ``peer``: its figures, the busy share of each CPU meanwhile,
    and with ``rate`` (``-Q``, and ``-v`` for each query's latency) p50/p99/p99.9."""
    argv = ["dnsperf", "-B", "-d", str(query_file), "-s", peer.host, "-p", str(peer.port),
            "-l", str(seconds), "-q", str(outstanding), "-t", str(DNSPERF_TIMEOUT_S)]  # fmt: skip
    if rate is not None:
        argv += ["-Q", str(rate), "-v"]
    counters_before = cache_counters(peer)
    # Its output goes to a file, read afterwards: a pipe read meanwhile would put this
    # script beside dnsperf on CPU 1 for -v's line per query.
    output = query_file.with_suffix(".out")
    before = harness.cpu_ticks()
    with output.open("w") as sink:
        done = subprocess.run(
            argv, stdout=sink, stderr=subprocess.PIPE, text=True, check=False,
            timeout=seconds + DNSPERF_SLACK_S,
        )  # fmt: skip
    after = harness.cpu_ticks()
    out = output.read_text()
    output.unlink()
    try:
        result = parse_dnsperf(out)
    except ValueError as error:
        raise SystemExit(f"{error} {done.stderr[-400:]}") from None
    result["file_looped"] = result["sent"] > file_queries
    for name, cpu in (("server_cpu_busy", SERVER_CPU), ("dnsperf_cpu_busy", REST_CPU)):
        busy, total = (after[cpu][i] - before[cpu][i] for i in (0, 1))
        result[name] = busy / max(1, total)
    counters_after = cache_counters(peer)
    if counters_before is not None and counters_after is not None:
        hits = counters_after[0] - counters_before[0]
        asked = counters_after[1] - counters_before[1]
        result["cache_hit_ratio"] = hits / asked if asked > 0 else None
    if rate is not None:
        latencies = sorted(
            float(m) * 1000 for m in re.findall(r"^> \S+ .* ([\d.]+)$", out, re.MULTILINE)
        )
        result["timed_out"] = len(re.findall(r"^> T ", out, re.MULTILINE))
        if latencies:
            result |= {
                f"p{label}_ms": percentile(latencies, share)
                for label, share in (("50", 0.50), ("99", 0.99), ("99.9", 0.999))
            }
        result["rate"] = rate
    return result


def cache_counters(peer: Peer) -> tuple[float, float] | None:
    """(packet-cache hits, queries) so far, where the server says: PowerDNS through
    pdns_control, ours through its /metrics if it exports a cache-hit counter; gdnsd
    has no packet cache."""
    if peer.name == POWERDNS:
        control = ["pdns_control", f"--socket-dir={peer.workdir}", f"--config-dir={peer.workdir}"]
        values = []
        for name in ("packetcache-hit", "udp-queries"):
            shown = subprocess.run(
                [*control, "show", name], capture_output=True, text=True, check=False, timeout=5
            )
            if shown.returncode != 0 or not shown.stdout.strip().isdigit():
                return None
            values.append(float(shown.stdout))
        return values[0], values[1]
    if peer.name == OURS and peer.admin:
        try:
            metrics = Metrics.parse(httpx.get(f"{peer.admin}/metrics", timeout=5).text)
        except (httpx.HTTPError, MillionscaleError):
            return None
        hits = [
            s.value for s in metrics.samples if "cache_hit" in s.name and s.name.endswith("_total")
        ]
        queries = metrics.sample(
            "millionscale_geodns_queries_total", {"transport": "udp"}, default=0
        )
        return (sum(hits), queries) if hits else None
    return None


# -- the profile --------------------------------------------------------------

# Where a sample's time goes when no dnspython frame is on its stack: its innermost
# frame of these (first match wins).
LAYERS = (
    ("our authority (the answer, sans-IO)", ("geodns/authority.py",)),
    ("our policy (which data center)", ("geodns/policy.py",)),
    ("our locator (with maxminddb's lookup)", ("geodns/locate.py", "maxminddb")),
    ("our zone records", ("geodns/zone.py",)),
    ("our shell (geodns/server.py: datagrams in and out)", ("geodns/server.py",)),
    ("metrics and health checks", ("prometheus_client", "geodns/metrics.py", "geodns/checker.py", "httpx", "httpcore")),
    ("event loop in C: epoll, socket reads (uvloop, under asyncio.run)", ("asyncio/runners.py",)),
    ("asyncio", ("asyncio/",)),
    ("uvloop", ("uvloop",)),
)  # fmt: skip
DNSPYTHON = "(dns/"  # py-spy names a frame "function (package/module.py:line)"
# A sample whose innermost frame is a wait in threading.py is an idle thread's (the admin
# server's worker after a /metrics scrape), whatever py-spy's idle detection said.
IDLE = "(threading.py"


def classify(stack: str) -> str:
    """The layer of a py-spy sample (frames root first, ``;``-separated)."""
    frames = stack.split(";")
    for frame in frames:
        if DNSPYTHON in frame:
            function = frame.split(" (", 1)[0].rsplit(".", 1)[-1]
            if function == "from_wire":
                return "dnspython: parsing the query (from_wire)"
            if function == "to_wire":
                return "dnspython: rendering the reply (to_wire)"
            return "dnspython: building the reply (messages, rrsets, options)"
    for frame in reversed(frames):
        for name, needles in LAYERS:
            if any(needle in frame for needle in needles):
                return name
    return "other (stdlib, interpreter)"


def profile(peer: Peer, query_file: Path, seconds: int, out: Path) -> dict[str, Any]:
    """py-spy on ``peer`` while dnsperf loads it with ``query_file``: the share of
    samples per layer and the top functions by own time."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    load = subprocess.Popen(
        ["dnsperf", "-B", "-d", str(query_file), "-s", peer.host, "-p", str(peer.port),
         "-l", str(seconds + 4), "-q", str(OUTSTANDING)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(1)
        subprocess.run(
            [py_spy, "record", "--pid", str(peer.pid), "--duration", str(seconds), "--rate",
             "200", "--format", "raw", "--output", str(out)],
            check=True,
            capture_output=True,
            timeout=seconds + 60,
        )  # fmt: skip
    finally:
        load.wait(timeout=seconds + DNSPERF_SLACK_S)
    layers: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    idle = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        if IDLE in stack.rsplit(";", 1)[-1]:
            idle += int(count)
            continue
        layers[classify(stack)] += int(count)
        leaf = re.sub(r":\d+\)$", ")", stack.rsplit(";", 1)[-1])
        own[leaf] += int(count)
    total = sum(layers.values()) or 1
    return {
        "workload": "distinct",
        "seconds": seconds,
        "samples": total,
        "idle_samples_left_out": idle,
        "layers": {name: n / total for name, n in layers.most_common()},
        "top_functions_own_time": {frame: n / total for frame, n in own.most_common(15)},
    }


# -- the run ------------------------------------------------------------------


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=at_least(1), default=None)
    parser.add_argument("--seconds", type=at_least(1), default=None)
    parser.add_argument("--latency-seconds", type=at_least(0), default=None)
    parser.add_argument("--latency-qps", type=at_least(0), default=0, help="0: half the slowest")
    parser.add_argument("--outstanding", type=at_least(1), default=OUTSTANDING)
    parser.add_argument("--queries", type=at_least(1000), default=None)
    parser.add_argument("--distinct-queries", type=at_least(1000), default=None)
    parser.add_argument("--profile-seconds", type=at_least(0), default=None)
    parser.add_argument("--attempts", type=at_least(1), default=None)
    parser.add_argument("--quiet-wait-s", type=at_least(0), default=None)
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s, small files")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "rounds": (1, 3),
        "seconds": (3, 10),
        "latency_seconds": (2, 5),
        "queries": (10_000, 50_000),
        "distinct_queries": (30_000, 200_000),
        "profile_seconds": (3, 10),
        "attempts": (1, harness.ATTEMPTS),
        "quiet_wait_s": (0, harness.QUIET_WAIT_S),
    }
    for name, (if_quick, otherwise) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, if_quick if quick else otherwise)
    if args.json is None:
        stem = "bench/results/geodns_qps"
        args.json = Path(f"{stem}.quick.json" if quick else f"{stem}.json")
    return args


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    over = over_runs(harness.undisturbed_values(runs, "queries_per_s"))
    summary = {
        "queries_per_s": over["median"],
        "avg_latency_ms": statistics.median(harness.undisturbed_values(runs, "avg_latency_ms")),
        "stddev_latency_ms": statistics.median(
            harness.undisturbed_values(runs, "stddev_latency_ms")
        ),
        "max_latency_ms": max(r["max_latency_ms"] for r in runs),
        "lost": sum(r["lost"] for r in runs),
        "sent": sum(r["sent"] for r in runs),
        "server_cpu_busy": statistics.median(r["server_cpu_busy"] for r in runs),
        "dnsperf_cpu_busy": statistics.median(r["dnsperf_cpu_busy"] for r in runs),
        "run_count": over["run_count"],
    }
    ratios = [r["cache_hit_ratio"] for r in runs if r.get("cache_hit_ratio") is not None]
    summary["cache_hit_ratio"] = statistics.median(ratios) if ratios else None
    full = (summary["server_cpu_busy"] >= FULL_CPU, summary["dnsperf_cpu_busy"] >= FULL_CPU)
    summary["bottleneck"] = {
        (True, False): "server",
        (False, True): "dnsperf",
        (True, True): "both CPUs full",
        (False, False): "neither CPU full",
    }[full]
    return summary


def verdict(medians: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if OURS not in medians or POWERDNS not in medians:
        return {"met": None, "why": "ours or PowerDNS did not run"}
    ratio = medians[OURS]["queries_per_s"] / medians[POWERDNS]["queries_per_s"]
    lost = medians[OURS]["lost"]
    met = ratio >= GOAL and lost == 0
    return {
        "met": met,
        "ratio_to_powerdns": ratio,
        "lost": lost,
        "why": f"{ratio:.2f}x PowerDNS's queries/s (goal >= {GOAL}x) with {lost} lost (goal 0)",
    }


def main() -> None:
    args = parse_arguments()
    written_by = provenance()
    # SIGTERM unwinds like Ctrl-C, so that the servers started are stopped (by pid) on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    patience = harness.Patience(args.attempts, args.quiet_wait_s)
    console = Console() if sys.stdout.isatty() else Console(width=120)
    harness.pin_rest(REST_CPU, console.print)  # this script and dnsperf: CPU 1

    skipped: dict[str, str] = {}
    commands: dict[str, list[str]] = {}
    answers: dict[str, Any] = {}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    latency_runs: dict[str, list[dict[str, Any]]] = {}
    profiled: dict[str, Any] = {}
    rate = 0
    with tempfile.TemporaryDirectory() as tmp, Progress(console=console) as progress:
        say = progress.console.print
        work = Path(tmp)
        zone_file = zone_without_checks(work / "photos.zone.toml")
        origin = load_zone(zone_file).origin.to_text()
        geoip = write_geoip(work / "places.mmdb", zone_file)
        mix = build_queries(args.queries, origin, seed=1)
        files: dict[str, list[tuple[Path, int]]] = {
            "mix": [(write_query_file(work / "mix.bin", mix), len(mix))]
        }
        # File 0 is the warm-up's (and the answer check's sample), 1..rounds the rounds';
        # each kind's /24s of one file follow those of the file before (wrapping at 2^16).
        span = -(-args.distinct_queries * max(k.weight for k in MIX) * 12 // 1000)
        distinct_files: list[tuple[Path, int]] = []
        warm_sample: list[tuple[Kind, bytes]] = []
        for index in range(args.rounds + 1):
            queries = build_queries(
                args.distinct_queries, origin, seed=100 + index, distinct_from=index * span
            )
            path = write_query_file(work / f"distinct-{index}.bin", queries)
            distinct_files.append((path, len(queries)))
            warm_sample = warm_sample or queries[:CHECK_SAMPLE]
        files["distinct"] = distinct_files
        say(
            f"query files: mix {len(mix):,} ({len({w for _, w in mix}):,} distinct), "
            f"distinct {args.distinct_queries:,} per round"
        )

        peers: list[Peer] = []
        try:
            for name, start in STARTERS.items():
                try:
                    peer = start(zone_file, geoip, work / name.split()[0], cpus=[SERVER_CPU])
                    peers.append(peer)
                    peer.wait_ready()
                except MillionscaleError as error:
                    skipped[name] = error.one_line()
                    say(f"[yellow]{name} skipped: {skipped[name]}")
                    continue
                commands[name] = peer.argv
            ready = [p for p in peers if p.name in commands]

            unique = list({wire: kind for kind, wire in mix}.items())
            checked = [(kind, wire, True) for wire, kind in unique]
            checked += [(kind, wire, True) for kind, wire in warm_sample]
            for kind in PROBES:  # asked, not in the files
                first = NETWORKS[kind.network or "EU"][0]
                checked.append((kind, _with_subnet(_template(kind, origin), first, 0, 1), False))
            if ready and ready[0].name == OURS and len(ready) > 1:
                answers = check_answers(ready, checked)
                for peer, count in answers["queries_differing_in_the_answer"].items():
                    say(
                        f"answer check: {peer}'s answer differs from ours for {count} of "
                        f"{len(checked) - len(PROBES)} queries of the files "
                        f"(anything, ECS scope and additional section included: "
                        f"{answers['queries_differing'][peer]})"
                    )
            else:
                answers = {"skipped": "needs ours and at least one peer"}

            total = len(ready) * args.rounds * (2 + (1 if args.latency_seconds else 0))
            task = progress.add_task("dnsperf", total=total)
            for workload, workload_files in files.items():
                runs[workload] = {p.name: [] for p in ready}
                warm_file, warm_count = workload_files[0]
                for peer in ready:
                    run_dnsperf(peer, warm_file, warm_count, WARMUP_S, args.outstanding)
                for round_ in range(args.rounds):
                    path, count = workload_files[0 if workload == "mix" else round_ + 1]
                    shift = round_ % len(ready)
                    for peer in ready[shift:] + ready[:shift]:
                        measure = functools.partial(
                            run_dnsperf, peer, path, count, args.seconds, args.outstanding
                        )
                        run = harness.undisturbed(measure, say, patience)
                        runs[workload][peer.name].append(run)
                        say(
                            f"round {round_ + 1} {workload} {peer.name}: "
                            f"{run['queries_per_s']:,.0f} q/s, avg {run['avg_latency_ms']:.3f} ms, "
                            f"lost {run['lost']}, CPU0 {run['server_cpu_busy']:.0%}, "
                            f"CPU1 {run['dnsperf_cpu_busy']:.0%}"
                            + (" (file looped)" if run["file_looped"] and workload != "mix" else "")
                        )
                        progress.advance(task)

            if args.latency_seconds and ready:
                slowest = min(
                    statistics.median(r["queries_per_s"] for r in by_peer)
                    for by_peer in runs["mix"].values()
                )
                rate = args.latency_qps or max(1000, int(slowest / 2 // 1000 * 1000))
                path, count = files["mix"][0]
                latency_runs = {p.name: [] for p in ready}
                for round_ in range(args.rounds):
                    shift = round_ % len(ready)
                    for peer in ready[shift:] + ready[:shift]:
                        measure = functools.partial(
                            run_dnsperf, peer, path, count, args.latency_seconds,
                            args.outstanding, rate=rate,
                        )  # fmt: skip
                        run = harness.undisturbed(measure, say, patience)
                        latency_runs[peer.name].append(run)
                        say(
                            f"round {round_ + 1} at {rate:,} q/s {peer.name}: "
                            f"p50 {run.get('p50_ms', float('nan')):.3f} ms, "
                            f"p99 {run.get('p99_ms', float('nan')):.3f} ms, lost {run['lost']}"
                        )
                        progress.advance(task)

            ours = next((p for p in ready if p.name == OURS), None)
            if args.profile_seconds and ours is not None:
                say(f"profiling ours for {args.profile_seconds} s under the distinct file")
                path, _ = files["distinct"][1]
                profiled = profile(ours, path, args.profile_seconds, work / "profile.txt")
        finally:
            for peer in peers:
                peer.stop()

    medians = {
        workload: {
            name: summarize(server_runs) for name, server_runs in by_server.items() if server_runs
        }
        for workload, by_server in runs.items()
    }
    ratios = {
        workload: {
            f"ours_to_{peer.split()[0].lower()}": figures[OURS]["queries_per_s"]
            / figures[peer]["queries_per_s"]
            for peer in (POWERDNS, GDNSD)
            if OURS in figures and peer in figures
        }
        for workload, figures in medians.items()
    }
    verdicts = {workload: verdict(figures) for workload, figures in medians.items()}
    latency = {
        name: {
            key: statistics.median(r[key] for r in server_runs if key in r)
            for key in ("p50_ms", "p99_ms", "p99.9_ms", "avg_latency_ms", "queries_per_s")
            if any(key in r for r in server_runs)
        }
        | {"lost": sum(r["lost"] for r in server_runs), "run_count": len(server_runs)}
        for name, server_runs in latency_runs.items()
    }

    table = Table(
        title=f"GeoDNS over UDP on one core each (dnsperf -q {args.outstanding}, "
        f"{args.seconds}s runs, median of {args.rounds} rounds)",
        caption="CPU0: the server's core; CPU1: dnsperf. avg/stddev: dnsperf's, at saturation",
    )
    for column in ("file", "server", "q/s", "avg", "stddev", "lost", "cache hits", "CPU0",
                   "CPU1", "vs PowerDNS"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("file", "server") else "right")
    for workload, figures in medians.items():
        for name, row in figures.items():
            versus = ""
            if POWERDNS in figures:
                versus = f"{row['queries_per_s'] / figures[POWERDNS]['queries_per_s']:.2f}x"
            hits = row["cache_hit_ratio"]
            table.add_row(
                workload,
                name,
                f"{row['queries_per_s']:,.0f}",
                f"{row['avg_latency_ms']:.3f} ms",
                f"{row['stddev_latency_ms']:.3f} ms",
                str(row["lost"]),
                "-" if hits is None else f"{hits:.0%}",
                f"{row['server_cpu_busy']:.0%}",
                f"{row['dnsperf_cpu_busy']:.0%}",
                versus,
            )
    console.print(table)
    if latency:
        lines = Table(title=f"latency at {rate:,} q/s (mix file, dnsperf -Q {rate} -v)")
        for column in ("server", "p50", "p99", "p99.9", "lost"):
            lines.add_column(column, justify="left" if column == "server" else "right")
        for name, row in latency.items():
            lines.add_row(
                name,
                *(
                    f"{row[k]:.3f} ms" if k in row else "-"
                    for k in ("p50_ms", "p99_ms", "p99.9_ms")
                ),
                str(row["lost"]),
            )
        console.print(lines)
    if profiled:
        layers = Table(title="ours under the distinct file: where its time goes (py-spy)")
        layers.add_column("layer")
        layers.add_column("share", justify="right")
        for name, share in profiled["layers"].items():
            layers.add_row(name, f"{share:.1%}")
        console.print(layers)
        top = Table(title="top functions by own time")
        top.add_column("function")
        top.add_column("share", justify="right")
        for name, share in list(profiled["top_functions_own_time"].items())[:10]:
            top.add_row(name, f"{share:.1%}")
        console.print(top)
    for workload, outcome in verdicts.items():
        mark = "met" if outcome["met"] else "NOT met" if outcome["met"] is False else "unknown"
        console.print(f"goal on {workload}: {mark}: {outcome['why']}")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "benchmark": "geodns_qps",
                **written_by,
                "quick": args.quick,
                "placement": {"server_cpu": SERVER_CPU, "dnsperf_cpu": REST_CPU},
                "dnsperf": {
                    "transport": "udp",
                    "outstanding": args.outstanding,
                    "timeout_s": DNSPERF_TIMEOUT_S,
                    "seconds": args.seconds,
                    "rounds": args.rounds,
                    "warmup_s": WARMUP_S,
                    "latency_seconds": args.latency_seconds,
                    "latency_rate": rate,
                },
                "zone": str(ZONE) + " without its check URLs",
                "networks": {
                    name: {"network": f"{first}.0.0.0/8", "place": p and dataclasses.asdict(p)}
                    for name, (first, p) in NETWORKS.items()
                },
                "query_mix_percent": {kind.label: kind.weight for kind in MIX},
                "query_files": {
                    "mix": {"queries": args.queries, "distinct": len({w for _, w in mix})},
                    "distinct": {"queries_per_round": args.distinct_queries},
                },
                "server_commands": commands,
                "skipped": skipped,
                "answers": answers,
                "median": medians,
                "queries_per_s_over_runs": {
                    workload: {
                        name: over_runs(harness.undisturbed_values(r, "queries_per_s"))
                        for name, r in by_server.items()
                        if r
                    }
                    for workload, by_server in runs.items()
                },
                "ratio": ratios,
                "goal": f">= {GOAL}x PowerDNS's queries/s with 0 lost queries",
                "verdict": verdicts,
                "latency_at_rate": latency,
                "profile_of_ours": profiled,
                "runs": runs,
                "latency_runs": latency_runs,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"written to {args.json}")


if __name__ == "__main__":
    main()
