"""What ``millionscale queue`` prints from a QueueStatus and DeadLetterEntries: the depth
and the workers, dead letters oldest first with why, one line per job put back, and the
broker's address everywhere without its token."""

from datetime import UTC
from typing import Any

import pytest

from millionscale.cli._queue import (
    BrokerAt,
    age,
    dead_letter_records,
    dead_letters_json,
    retried_line,
    status_json,
    status_records,
    worker_records,
)
from millionscale.queue.broker import DeadLetterEntry, QueueStatus
from millionscale.queue.job import Job

TOKEN = "s3cret-token"
AT = BrokerAt(f"nats://{TOKEN}@10.1.2.3:4222", "ms-x-queue", "queue")
DEAD_AT = 1_796_300_000.0  # 2026-12-03 12:13:20 UTC


def status(**fields) -> QueueStatus:
    defaults: dict[str, Any] = {"ready": 2, "in_flight": 1, "delayed": 0, "dead_letters": 0}
    defaults |= {"oldest_age_s": 0.0, "redelivered": 0}
    return QueueStatus(**(defaults | fields))


def entry(id: int = 3, job: Job | None = None, **fields) -> DeadLetterEntry:
    job = job or Job("thumbnail", {"photo": 12}, id="job-12")
    defaults: dict[str, Any] = {"raw": b"{}", "reason": "failed 20 of 20 deliveries"}
    defaults |= {"error": "OSError: disk"}
    defaults |= {"deliveries": 20, "dead_at": DEAD_AT}
    return DeadLetterEntry(id=id, job=job, **(defaults | fields))


def worker(name: str, state: str = "ready", **fields) -> dict:
    return {"name": name, "on_host": name, "state": state, "pid": 4242, "restarts": 0} | fields


def test_the_status_is_one_record_titled_with_the_queue_and_the_brokers_address():
    records = status_records(status(dead_letters=4, oldest_age_s=75.0, redelivered=1), AT, "jobs")

    assert records.plain_lines() == [
        "queue jobs on nats://10.1.2.3:4222 (process queue)",
        "depth  ready  in flight  delayed  dead letters  oldest  redelivered",
        "    3      2          1        0             4    75 s            1",
    ]


def test_an_empty_queue_has_no_oldest_age_and_a_url_broker_no_process():
    records = status_records(status(ready=0, in_flight=0), BrokerAt(AT.url), "jobs")

    assert records.plain_lines()[0] == "queue jobs on nats://10.1.2.3:4222"
    assert records.plain_lines()[2].split() == ["0", "0", "0", "0", "0", "-", "0"]


def test_status_json_has_the_depth_and_the_workers_and_never_the_token():
    view = status_json(
        status(delayed=5, oldest_age_s=2.5),
        AT,
        "jobs",
        [worker("worker-1"), worker("worker-2", "failed", reason="exited with code 1")],
    )

    assert view == {
        "queue": "jobs",
        "broker": "nats://10.1.2.3:4222",
        "process": "queue",
        "depth": 3,
        "ready": 2,
        "in_flight": 1,
        "delayed": 5,
        "dead_letters": 0,
        "oldest_age_s": 2.5,
        "redelivered": 0,
        "workers": [
            {"name": "worker-1", "host": "worker-1", "state": "ready", "pid": 4242,
             "restarts": 0, "note": None},
            {"name": "worker-2", "host": "worker-2", "state": "failed", "pid": 4242,
             "restarts": 0, "note": "exited with code 1"},
        ],
    }  # fmt: skip
    assert TOKEN not in str(view)


def test_a_broker_named_by_url_has_no_workers_to_list():
    assert status_json(status(), BrokerAt(AT.url), "jobs", None)["workers"] is None


def test_workers_are_listed_with_how_many_are_ready_and_a_note_for_one_that_is_not():
    records = worker_records(
        [worker("worker-1"), worker("worker-2", "failed", pid=None, restarts=5, reason="crashed")]
    )

    assert records.plain_lines() == [
        "workers (1 of 2 ready)",
        "name      host      state    pid  restarts  note",
        "worker-1  worker-1  ready   4242         0",
        "worker-2  worker-2  failed     -         5  crashed",
    ]


def test_dead_letters_are_listed_oldest_first_with_their_job_and_why():
    malformed = entry(4, reason="malformed: the message is not JSON", error="", deliveries=1)
    entries = [entry(3), DeadLetterEntry(**{**_fields(malformed), "job": None})]

    records = dead_letter_records(entries, total=2, tz=UTC)

    assert records.plain_lines() == [
        "dead letters (2, oldest first)",
        "id  task       job id  deliveries  when                 reason"
        "                              error",
        " 3  thumbnail  job-12          20  2026-12-03 12:13:20  failed 20 of 20 deliveries"
        "          OSError: disk",
        " 4  -          -                1  2026-12-03 12:13:20  malformed: the message is not JSON"
        "  -",
    ]


def _fields(dead: DeadLetterEntry) -> dict:
    return {name: getattr(dead, name) for name in dead.__slots__}


def test_a_limited_listing_says_how_many_there_are_in_all():
    records = dead_letter_records([entry(3)], total=57, tz=UTC)

    assert records.plain_lines()[0] == "dead letters (1 of 57, oldest first)"


def test_dead_letters_json_has_the_job_its_args_and_the_time_in_utc():
    job = Job("fanout", {"photo": 9}, id="job-9", key="fanout-9")
    entries = [entry(7, job), DeadLetterEntry(**{**_fields(entry(8)), "job": None})]

    view = dead_letters_json(entries, total=2)

    assert view["total"] == 2
    assert view["dead_letters"][0] == {
        "id": 7,
        "task": "fanout",
        "job_id": "job-9",
        "key": "fanout-9",
        "args": {"photo": 9},
        "reason": "failed 20 of 20 deliveries",
        "error": "OSError: disk",
        "deliveries": 20,
        "dead_at": "2026-12-03T12:13:20+00:00",
    }
    not_a_job = view["dead_letters"][1]
    assert (not_a_job["task"], not_a_job["job_id"], not_a_job["args"]) == (None, None, None)


def test_each_job_put_back_is_one_line():
    line = retried_line(3, Job("thumbnail", id="job-12"))

    assert line == "dead letter 3: job job-12 (thumbnail) is back on the queue"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.04, "0.0 s"), (4.25, "4.2 s"), (75, "75 s"), (210, "3.5 min"), (7200, "2.0 h")],
)
def test_ages_read_in_the_unit_that_fits(seconds, shown):
    assert age(seconds) == shown


def test_the_brokers_address_is_its_url_without_the_token():
    assert AT.address == "nats://10.1.2.3:4222"
    assert TOKEN not in repr(AT.address)
