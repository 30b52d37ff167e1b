"""Reading every process's log as records: ours (JSON) and the engines' (plain text)."""

import json
from datetime import UTC, datetime

from millionscale.obs.logview import (
    LogRecord,
    human_text,
    interleave,
    json_line,
    parse_log,
    passes,
)


def ours(event: str, at: str, level: str = "info", **fields: object) -> str:
    return json.dumps({"event": event, "level": level, "timestamp": at, "process": "web"} | fields)


def test_our_json_line_becomes_level_time_process_message_and_fields():
    [record] = parse_log([ours("listening", "2024-05-01T12:00:00.250000Z", port=8000)], "web")

    assert record.level == "info"
    assert record.time == datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)
    assert record.process == "web"
    assert record.message == "listening"
    assert record.fields == {"port": 8000}


def test_a_logged_exception_is_shown_as_a_traceback_not_as_a_json_string():
    trace = 'Traceback (most recent call last):\n  File "app.py", line 3\nValueError: bad'
    line = ours("request failed", "2024-05-01T12:00:00Z", "error", exception=trace)

    text = human_text(parse_log([line], "web")[0]).plain

    assert text.splitlines()[0].endswith("request failed")
    assert "ERROR" in text.splitlines()[0]
    assert text.splitlines()[1:] == trace.splitlines()


def test_postgresql_lines_with_their_detail_lines():
    lines = [
        "2024-05-01 12:00:01.500 UTC [311] FATAL:  password authentication failed for user x",
        '2024-05-01 12:00:01.500 UTC [311] DETAIL:  Connection matched file "pg_hba.conf"',
        "2024-05-01 12:00:02.000 UTC [300] LOG:  database system is ready to accept connections",
    ]

    fatal, ready = parse_log(lines, "db")

    assert fatal.level == "error"
    assert fatal.message == "password authentication failed for user x"
    assert fatal.lines == (lines[1],)
    assert fatal.time == datetime(2024, 5, 1, 12, 0, 1, 500000, tzinfo=UTC)
    assert ready.level == "info"


def test_redis_and_nats_lines_have_their_levels():
    redis = parse_log(["12:M 01 May 2024 12:00:00.123 # WARNING overcommit_memory"], "cache")
    nats = parse_log(["[7] 2024/05/01 12:00:00.123456 [ERR] JetStream failed"], "broker")

    assert (redis[0].level, redis[0].message) == ("warning", "WARNING overcommit_memory")
    assert (nats[0].level, nats[0].message) == ("error", "JetStream failed")
    assert redis[0].time is not None
    assert nats[0].time is not None


def test_a_raw_python_traceback_is_one_error_record_printed_as_written():
    lines = [
        ours("starting", "2024-05-01T12:00:00Z"),
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "ModuleNotFoundError: No module named 'nope'",
    ]

    _start, crash = parse_log(lines, "web")

    assert crash.level == "error"
    assert crash.lines == tuple(lines[1:])
    assert human_text(crash).plain.splitlines()[1:] == lines[1:]


def test_a_line_at_the_top_of_a_log_that_nothing_recognises_is_kept():
    [record] = parse_log(["The files of this database system will be owned by user x."], "db")

    assert record.time is None
    assert record.message.startswith("The files")


def test_logs_are_interleaved_by_time_and_each_keeps_its_own_order():
    web = parse_log([ours("a", "2024-05-01T12:00:00Z"), ours("c", "2024-05-01T12:00:02Z")], "web")
    db = parse_log(
        [
            "2024-05-01 12:00:01.000 UTC [1] LOG:  b",
            "an untimed line that follows b",
            "2024-05-01 12:00:03.000 UTC [1] LOG:  d",
        ],
        "db",
    )

    merged = interleave([web, db])

    assert [r.message for r in merged] == ["a", "b", "c", "d"]


def test_level_keeps_that_level_and_above_and_an_unknown_level_counts_as_info():
    def at(level: str | None) -> LogRecord:
        return LogRecord(None, level, "p", "m")

    assert passes(at("error"), "warning")
    assert not passes(at("info"), "warning")
    assert passes(at(None), "info")
    assert not passes(at(None), "warning")


def test_json_output_keeps_our_lines_as_written_and_gives_engines_our_keys():
    line = ours("listening", "2024-05-01T12:00:00Z")
    [record] = parse_log([line], "web")
    [engine] = parse_log(["[7] 2024/05/01 12:00:00.5 [INF] Server is ready"], "broker")

    assert json_line(record) == line
    data = json.loads(json_line(engine))
    assert (data["level"], data["process"], data["event"]) == ("info", "broker", "Server is ready")
    assert data["timestamp"] is not None


def test_the_human_line_reads_time_level_process_message():
    [record] = parse_log([ours("listening", "2024-05-01T12:00:00.250Z", port=8000)], "web")

    text = human_text(record, process_width=6).plain

    assert "INFO" in text
    assert "web     listening port=8000" in text
    assert ":00.250" in text
