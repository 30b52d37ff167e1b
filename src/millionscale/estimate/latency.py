"""The latency numbers every engineer should know, each with where it comes from.

The classic table is Jeff Dean's "Numbers Everyone Should Know" as he showed it
in 2009, which is also the table Alex Xu reprints in "System Design Interview"
(2020, chapter 2). Two SSD rows come from Jonas Bonér's 2012 gist, which
added them. Where Peter Norvig's earlier table, Dean's 2010 version or Bonér's
gist give another figure for the same operation, the row's ``note`` says so:
the figures are orders of magnitude, not measurements of any one machine.

:func:`latency_rows` puts a set of figures measured on this machine (see
:mod:`millionscale.estimate.measure`) beside the classic ones. Pure data and
functions; nothing here measures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "BONER_2012",
    "CLASSIC_LATENCIES",
    "DEAN_2009",
    "DEAN_2010",
    "NORVIG_2001",
    "LatencyFigure",
    "LatencyRow",
    "Measured",
    "Source",
    "latency_rows",
]


@dataclass(frozen=True, slots=True)
class Source:
    """A publication a figure is taken from."""

    key: str
    citation: str
    url: str


DEAN_2009 = Source(
    "dean-2009",
    'Jeff Dean, "Designs, Lessons and Advice from Building Large Distributed Systems", '
    'LADIS 2009 keynote, slide "Numbers Everyone Should Know"',
    "https://www.cs.cornell.edu/projects/ladis2009/talks/dean-keynote-ladis2009.pdf",
)
DEAN_2010 = Source(
    "dean-2010",
    'Jeff Dean, "Building Software Systems at Google and Lessons Learned", '
    "Stanford EE380, November 2010",
    "https://web.stanford.edu/class/ee380/Abstracts/101110.html",
)
NORVIG_2001 = Source(
    "norvig-2001",
    'Peter Norvig, "Teach Yourself Programming in Ten Years" (2001), '
    '"Approximate timing for various operations on a typical PC"',
    "https://norvig.com/21-days.html#answers",
)
BONER_2012 = Source(
    "boner-2012",
    'Jonas Bonér, "Latency Numbers Every Programmer Should Know" (GitHub gist, 2012)',
    "https://gist.github.com/jboner/2841832",
)

NS = 1e-9
US = 1e-6
MS = 1e-3


@dataclass(frozen=True, slots=True)
class LatencyFigure:
    """One row of the classic table: an operation, how long it takes, and who says so."""

    key: str
    operation: str
    seconds: float
    source: Source
    note: str = ""


CLASSIC_LATENCIES: tuple[LatencyFigure, ...] = (
    LatencyFigure("l1_cache_reference", "L1 cache reference", 0.5 * NS, DEAN_2009),
    LatencyFigure("branch_mispredict", "Branch mispredict", 5 * NS, DEAN_2009),
    LatencyFigure("l2_cache_reference", "L2 cache reference", 7 * NS, DEAN_2009),
    LatencyFigure(
        "mutex_lock_unlock",
        "Mutex lock/unlock",
        100 * NS,
        DEAN_2009,
        "25 ns in Norvig 2001, Dean 2010 and Bonér 2012",
    ),
    LatencyFigure("main_memory_reference", "Main memory reference", 100 * NS, DEAN_2009),
    LatencyFigure(
        "compress_1kb",
        "Compress 1 KB with Zippy (Snappy)",
        10 * US,
        DEAN_2009,
        "3 µs in Dean 2010 and Bonér 2012",
    ),
    LatencyFigure(
        "send_2kb_1gbps",
        "Send 2 KB over a 1 Gbps network",
        20 * US,
        DEAN_2009,
        "Bonér 2012: 1 KB in 10 µs",
    ),
    LatencyFigure("read_4kb_random_ssd", "Read 4 KB randomly from SSD", 150 * US, BONER_2012),
    LatencyFigure("read_1mb_memory", "Read 1 MB sequentially from memory", 250 * US, DEAN_2009),
    LatencyFigure(
        "round_trip_datacenter", "Round trip within the same data center", 500 * US, DEAN_2009
    ),
    LatencyFigure("read_1mb_ssd", "Read 1 MB sequentially from SSD", 1 * MS, BONER_2012),
    LatencyFigure(
        "disk_seek",
        "Disk seek",
        10 * MS,
        DEAN_2009,
        "8 ms in Norvig 2001 ('fetch from new disk location')",
    ),
    LatencyFigure(
        "read_1mb_network", "Read 1 MB sequentially from the network", 10 * MS, DEAN_2009
    ),
    LatencyFigure(
        "read_1mb_disk",
        "Read 1 MB sequentially from disk",
        30 * MS,
        DEAN_2009,
        "20 ms in Norvig 2001, Dean 2010 and Bonér 2012",
    ),
    LatencyFigure(
        "round_trip_continents",
        "Send a packet California → Netherlands → California",
        150 * MS,
        DEAN_2009,
    ),
)


@dataclass(frozen=True, slots=True)
class Measured:
    """A figure measured on this machine, and the classic row it stands beside (if any).

    ``seconds`` is None when it could not be measured; ``how`` then says why.
    """

    key: str
    operation: str
    seconds: float | None
    how: str
    compare_to: str | None = None


@dataclass(frozen=True, slots=True)
class LatencyRow:
    """One line of the printed table: the classic figure, this machine's, or both."""

    operation: str
    classic_s: float | None
    source: Source | None
    note: str
    measured_s: float | None
    how: str


def latency_rows(measured: Iterable[Measured] = ()) -> tuple[LatencyRow, ...]:
    """The classic table in order, each row with the measurement compared to it; then the
    measurements that have no classic counterpart (database round trips), last.
    """
    by_classic: dict[str, Measured] = {}
    extra: list[Measured] = []
    for m in measured:
        if m.compare_to is not None and m.compare_to not in by_classic:
            by_classic[m.compare_to] = m
        else:
            extra.append(m)
    rows = []
    for figure in CLASSIC_LATENCIES:
        beside = by_classic.pop(figure.key) if figure.key in by_classic else None
        rows.append(
            LatencyRow(
                figure.operation,
                figure.seconds,
                figure.source,
                figure.note,
                beside.seconds if beside else None,
                (
                    beside.how
                    if beside is None or beside.operation == figure.operation
                    else f"{beside.operation}: {beside.how}"
                )
                if beside
                else "",
            )
        )
    for m in [*by_classic.values(), *extra]:
        rows.append(LatencyRow(m.operation, None, None, "", m.seconds, m.how))
    return tuple(rows)
