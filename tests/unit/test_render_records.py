"""Listings at a fixed width: addresses never truncated, words never split, pipes get plain text."""

import re
from io import StringIO

import pytest
from rich.console import Console

from millionscale.db.status import NodeStatus, node_records
from millionscale.estimate.latency import Measured, latency_rows
from millionscale.estimate.render import latency_table
from millionscale.render import Column, Records

ADDRESS = "10.215.212.130:36512"
NOTE = (
    "restarted 5 times within 60 s: database system identifier differs between "
    "the primary and standby"
)


def status_like() -> Records:
    columns: list[Column | str] = ["name", "tier", "dc", "role", Column("pid", right=True)]
    columns += ["address", "state"]
    columns += [Column("restarts", right=True), Column("note", free_text=True)]
    return Records.of(
        columns,
        [
            ["db-r2", "db", "dc1", "replica", None, ADDRESS, "failed", 5, NOTE],
            ["web-1", "web", "dc1", "app", 4242, "10.215.212.10:8000", "ready", 0, ""],
        ],
        title="topology demo",
    )


def shown(renderable: object, *, width: int, terminal: bool) -> str:
    out = StringIO()
    console = Console(
        file=out, width=width, force_terminal=terminal, color_system=None, soft_wrap=not terminal
    )
    console.print(renderable)
    return out.getvalue()


def words(text: str) -> set[str]:
    return set(text.split())


def test_at_80_columns_a_terminal_shows_every_address_whole():
    text = shown(status_like(), width=80, terminal=True)

    assert ADDRESS in text
    assert "…" not in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_at_80_columns_a_note_too_wide_for_a_column_goes_under_the_table_whole():
    text = shown(status_like(), width=80, terminal=True)
    lines = text.splitlines()

    assert lines[1].split() == [
        "name", "tier", "dc", "role", "pid", "address", "state", "restarts"
    ]  # fmt: skip
    assert any(line.startswith("db-r2: restarted 5 times") for line in lines)
    assert words(NOTE) <= words(text)


def test_on_a_wide_terminal_the_note_column_wraps_between_words():
    text = shown(status_like(), width=110, terminal=True)
    lines = text.splitlines()
    note_start = lines[1].index("note")

    note_lines = [line[note_start:].strip() for line in lines[3:]]
    assert words(NOTE) <= words(text)
    assert " ".join(part for part in note_lines if part) == NOTE
    assert all(len(line) <= 110 for line in lines)


def test_a_terminal_too_narrow_for_the_table_gets_one_paragraph_per_record():
    text = shown(status_like(), width=40, terminal=True)

    assert ADDRESS in text
    assert "…" not in text
    assert words(NOTE) <= words(text)
    assert any(line.startswith("db-r2 ") for line in text.splitlines())
    assert any(line.startswith("web-1 ") for line in text.splitlines())


def test_a_pipe_gets_plain_aligned_columns_without_box_drawing_or_padding():
    text = shown(status_like(), width=80, terminal=False)
    lines = text.splitlines()

    assert lines[0] == "topology demo"
    assert not re.search(r"[─━│┃┏┡└╇]", text)
    assert all(line == line.rstrip() for line in lines)
    assert f"{ADDRESS}  failed" in text
    assert NOTE in text  # one line, however long: a pipe has no width
    header, first, second = lines[1:4]
    assert header.index("address") == first.index(ADDRESS) == second.index("10.215.212.10:8000")


def test_a_missing_value_shows_as_a_dash():
    lines = shown(status_like(), width=80, terminal=False).splitlines()

    assert lines[2].split()[4] == "-"


def test_db_status_with_a_node_down_keeps_the_name_column_whole():
    down = NodeStatus(
        "db-replica-2", "127.0.0.1:54321", "unreachable", None, None, None, None, None,
        error="OperationalError: connection failed: connection to server at "
        '"127.0.0.1", port 54321 failed: Connection refused',
    )  # fmt: skip
    up = NodeStatus("db", "127.0.0.1:54320", "primary", "0/3000060", None, None, None, None)

    text = shown(node_records([up, down]), width=80, terminal=True)

    assert "db-replica-2" in text
    assert "127.0.0.1:54321" in text
    assert "Connection refused" in text
    assert "…" not in text


def test_estimate_latency_measured_at_80_columns_splits_no_word():
    measured = [
        Measured("m", "Mutex lock/unlock", 80e-9, "threading.Lock, median of 1,000,000", None),
        Measured("pg", "PostgreSQL round trip", 150e-6, "SELECT 1 over loopback TCP"),
    ]
    rows = latency_rows(measured)

    text = shown(latency_table(rows, measured=True), width=80, terminal=True)

    for row in rows:
        assert words(row.operation) <= words(text), row.operation
    assert "sequentially" in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_a_row_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="1 cells under 2 columns"):
        Records.of(["a", "b"], [["only one"]])
