"""``millionscale queue status / dead-letters / retry`` against a real NATS named by --url:
jobs that always fail are dead-lettered by a worker, listed with why, and put back one
by one or all at once; a message that is not a job is listed and cannot be put back; the
broker's token is never printed."""

import asyncio
import json
import sys
import time

import nats as nats_client
import pytest
from queue_support import broker_at, eventually, running

from millionscale.cli import main
from millionscale.queue import Job, RetryPolicy

pytestmark = pytest.mark.integration

POLICY = RetryPolicy(max_deliveries=2, base_s=0.05, max_backoff_s=0.1)
HOUR_S = 3600.0


def command(monkeypatch, capsys, url: str, *argv: str) -> tuple[int, str, str]:
    monkeypatch.delenv("QUEUE_URL", raising=False)
    monkeypatch.setattr(sys, "argv", ["millionscale", "queue", *argv, "--url", url])
    capsys.readouterr()  # what the worker logged while the test arranged its jobs
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def token(url: str) -> str:
    return url.split("//", 1)[1].split("@", 1)[0]


async def fail(job: Job) -> None:
    raise ValueError(f"cannot make thumbnail {job.args['photo']}")


async def dead_letters(broker, count: int) -> bool:
    return (await broker.status()).dead_letters == count


def dead_letter(url: str, *, jobs: int, junk: bool = False) -> None:
    """``jobs`` thumbnails that always fail (and a message that is not a job, with
    ``junk``), dead-lettered by a worker; then one job ready and one delayed an hour."""

    async def scenario() -> None:
        async with broker_at(url) as broker:
            for n in range(jobs):
                await broker.publish(Job("thumbnail", {"photo": n}, id=f"thumb-{n}"))
            if junk:
                client = await nats_client.connect(url)
                await client.jetstream().publish("jobs.ready.thumbnail", b"{not json")
                await client.close()
            async with running(broker, {"thumbnail": fail}, policy=POLICY):
                want = jobs + junk
                await eventually(lambda: dead_letters(broker, want), f"{want} dead letters")
            await broker.publish(Job("fanout", {"photo": 1}, id="ready-1"))
            await broker.publish(Job("fanout", id="later-1", not_before=time.time() + HOUR_S))

    asyncio.run(scenario())


def test_status_shows_the_depth_and_no_workers_for_a_broker_named_by_url(nats, monkeypatch, capsys):
    dead_letter(nats.url, jobs=2)

    code, out, err = command(monkeypatch, capsys, nats.url, "status", "--json")

    assert (code, err) == (0, "")
    view = json.loads(out)
    assert (view["ready"], view["in_flight"], view["delayed"]) == (1, 0, 1)
    assert (view["dead_letters"], view["depth"], view["workers"]) == (2, 1, None)
    assert view["broker"] == f"nats://127.0.0.1:{nats.port}"
    assert 0 <= view["oldest_age_s"] < 60
    assert token(nats.url) not in out


def test_status_as_a_table_names_the_queue_and_the_broker_without_its_token(
    nats, monkeypatch, capsys
):
    dead_letter(nats.url, jobs=1)

    code, out, _ = command(monkeypatch, capsys, nats.url, "status")

    lines = out.splitlines()
    assert code == 0
    assert lines[0] == f"queue jobs on nats://127.0.0.1:{nats.port}"
    assert lines[1].split() == ["depth", "ready", "in", "flight", "delayed", "dead", "letters",
                                "oldest", "redelivered"]  # fmt: skip
    assert lines[2].split()[:5] == ["1", "1", "0", "1", "1"]
    assert token(nats.url) not in out


def test_dead_letters_lists_each_failed_job_with_its_reason_and_last_error(
    nats, monkeypatch, capsys
):
    dead_letter(nats.url, jobs=2)

    code, out, _ = command(monkeypatch, capsys, nats.url, "dead-letters", "--json")

    assert code == 0
    view = json.loads(out)
    assert view["total"] == 2
    entries = view["dead_letters"]  # in the order the worker gave up on them
    assert sorted((e["task"], e["job_id"], e["deliveries"]) for e in entries) == [
        ("thumbnail", "thumb-0", 2),
        ("thumbnail", "thumb-1", 2),
    ]
    for e in entries:
        assert e["reason"].startswith("failed 2 of 2 deliveries")
        assert e["error"] == f"ValueError: cannot make thumbnail {e['args']['photo']}"
        assert e["job_id"] == f"thumb-{e['args']['photo']}"
    assert entries[0]["id"] < entries[1]["id"]  # oldest first


def test_a_limited_listing_shows_the_oldest_and_how_many_there_are(nats, monkeypatch, capsys):
    dead_letter(nats.url, jobs=2)
    _, listed, _ = command(monkeypatch, capsys, nats.url, "dead-letters", "--json")
    oldest = json.loads(listed)["dead_letters"][0]

    code, out, _ = command(monkeypatch, capsys, nats.url, "dead-letters", "--limit", "1")

    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "dead letters (1 of 2, oldest first)"
    assert len(lines) == 3  # title, header, the oldest
    assert lines[2].split()[:3] == [str(oldest["id"]), "thumbnail", oldest["job_id"]]
    assert lines[2].endswith(oldest["error"])


def test_retry_puts_one_job_back_and_a_missing_id_is_a_one_line_error(nats, monkeypatch, capsys):
    dead_letter(nats.url, jobs=2)
    _, listed, _ = command(monkeypatch, capsys, nats.url, "dead-letters", "--json")
    oldest = json.loads(listed)["dead_letters"][0]
    first = oldest["id"]

    code, out, err = command(monkeypatch, capsys, nats.url, "retry", str(first))
    missing = command(monkeypatch, capsys, nats.url, "retry", str(first))
    _, after, _ = command(monkeypatch, capsys, nats.url, "status", "--json")

    assert (code, err) == (0, "")
    assert out == f"dead letter {first}: job {oldest['job_id']} (thumbnail) is back on the queue\n"
    assert missing == (
        2,
        "",
        f"error: there is no dead letter {first} ('millionscale queue dead-letters' lists them)\n",
    )
    view = json.loads(after)
    assert (view["dead_letters"], view["ready"]) == (1, 2)


def test_retry_all_puts_every_job_back_and_says_which_cannot_go(nats, monkeypatch, capsys):
    dead_letter(nats.url, jobs=2, junk=True)

    code, out, err = command(monkeypatch, capsys, nats.url, "retry", "--all")
    _, after, _ = command(monkeypatch, capsys, nats.url, "dead-letters", "--json")

    assert code == 1  # one of them is not a job
    assert sorted(line.split(":")[1] for line in out.splitlines()) == [
        " job thumb-0 (thumbnail) is back on the queue",
        " job thumb-1 (thumbnail) is back on the queue",
    ]
    (left,) = json.loads(after)["dead_letters"]
    assert left["task"] is None
    assert err.splitlines() == [
        f"dead letter {left['id']} not retried: it holds no job ({left['reason']})",
        "error: 1 of 3 dead letters not put back (see above)",
    ]
    assert left["reason"].startswith("malformed: the message is not JSON")


def test_retry_all_with_no_dead_letters_says_so(nats, monkeypatch, capsys):
    code, out, _ = command(monkeypatch, capsys, nats.url, "retry", "--all")

    assert (code, out) == (0, "no dead letters in queue jobs\n")


def test_a_broker_that_does_not_answer_is_a_one_line_error_without_its_token(monkeypatch, capsys):
    url = "nats://s3cret-token@127.0.0.1:1"  # nothing listens on port 1

    code, out, err = command(monkeypatch, capsys, url, "status")

    assert (code, out) == (2, "")
    assert err.startswith("error: cannot connect to the broker at nats://127.0.0.1:1 within 5 s")
    assert err.count("\n") == 1
    assert "s3cret-token" not in err


def test_a_wrong_token_is_a_one_line_error_that_prints_neither_token(nats, monkeypatch, capsys):
    wrong = nats.url.replace(token(nats.url), "not-the-token")

    code, out, err = command(monkeypatch, capsys, wrong, "dead-letters")

    assert (code, out) == (2, "")
    assert "Authorization Violation" in err
    assert err.count("\n") == 1
    assert "not-the-token" not in err
    assert token(nats.url) not in err
