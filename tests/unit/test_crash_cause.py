"""The one line of a crashed process's log that says why: the real cause, not a
traceback's first line, from every shape our processes and engines write."""

import json

from millionscale.topology.cause import MAX_CAUSE_CHARS, crash_cause

TRACEBACK = """\
Traceback (most recent call last):
  File "/app/photos/app.py", line 40, in main
    router.open()
  File "/app/db/router.py", line 247, in open
    raise DatabaseError(
millionscale.errors.DatabaseError: no database node answers as the primary (last seen: db)
"""


def test_a_traceback_gives_its_last_line_not_its_first():
    assert crash_cause(TRACEBACK) == (
        "millionscale.errors.DatabaseError: no database node answers as the primary (last seen: db)"
    )


def test_a_chained_traceback_gives_the_exception_that_ended_the_process():
    text = TRACEBACK + (
        "\nDuring handling of the above exception, another exception occurred:\n\n"
        'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n'
        "RuntimeError: gave up\n"
    )

    assert crash_cause(text) == "RuntimeError: gave up"


def test_a_structured_error_line_gives_its_event_and_its_exception():
    line = json.dumps(
        {
            "level": "error",
            "event": "startup failed",
            "exception": TRACEBACK.strip(),
            "timestamp": "2026-12-02T18:00:00Z",
        }
    )
    info = json.dumps({"level": "info", "event": "shutting down"})

    assert crash_cause(f"{line}\n{info}\n") == (
        "startup failed: millionscale.errors.DatabaseError: no database node answers as "
        "the primary (last seen: db)"
    )


def test_our_entry_points_error_line_is_the_cause():
    text = '{"level": "info", "event": "starting"}\nerror: port 8080 is in use (stop it)\n'

    assert crash_cause(text) == "error: port 8080 is in use (stop it)"


def test_a_postgres_fatal_line_is_the_cause():
    text = (
        "2026-12-02 18:00:00 UTC [12] LOG:  starting PostgreSQL 15.18\n"
        "2026-12-02 18:00:00 UTC [12] FATAL:  database system identifier differs between "
        "the primary and standby\n"
        "2026-12-02 18:00:00 UTC [12] LOG:  shutting down\n"
    )

    assert crash_cause(text).endswith(
        "FATAL:  database system identifier differs between the primary and standby"
    )


def test_with_no_error_line_the_last_line_written_is_the_cause():
    assert crash_cause("listening\nstill listening\n\n") == "still listening"


def test_the_supervisors_banner_and_an_empty_log_give_nothing():
    assert crash_cause("--- millionscale: starting web at 2026-12-02T18:00:00+00:00 ---\n") == ""
    assert crash_cause("") == ""


def test_a_long_cause_is_cut_to_one_or_two_terminal_lines():
    cause = crash_cause("RuntimeError: " + "x" * 5000)

    assert len(cause) == MAX_CAUSE_CHARS
    assert cause.endswith("…")


def test_a_broken_json_line_is_read_as_text():
    assert crash_cause('{"level": "error", "event": \nValueError: bad\n') == "ValueError: bad"
