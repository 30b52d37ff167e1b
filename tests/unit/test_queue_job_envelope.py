"""A job's envelope round-trips, and bytes that are no job are refused with a reason."""

import contextlib
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.queue import MAX_JOB_BYTES, Job, MalformedJob, decode, encode


def test_a_job_survives_its_envelope():
    job = Job(
        "thumbnail",
        {"photo": 42, "sizes": [320]},
        id="j-1",
        key="photo-42",
        enqueued_at=1.5,
        not_before=9.0,
    )

    assert decode(encode(job)) == job


def test_the_idempotency_key_is_the_id_unless_one_is_named():
    assert Job("noop", id="a").idempotency_key == "a"
    assert Job("noop", id="a", key="photo-42").idempotency_key == "photo-42"


def test_a_delayed_job_says_how_long_until_it_is_due():
    job = Job("noop", not_before=100.0)

    assert job.delay_s(now=90.0) == 10.0
    assert job.delay_s(now=101.0) == 0.0
    assert Job("noop").delay_s(now=0.0) == 0.0


@pytest.mark.parametrize("task", ["", "Upper", "has.dot", "has space", "9lives", "x" * 65, ">"])
def test_a_task_name_that_is_not_a_subject_token_is_refused(task):
    with pytest.raises(MalformedJob, match="task name"):
        Job(task)


def test_args_that_are_not_json_are_refused_at_encode():
    with pytest.raises(MalformedJob, match="not JSON"):
        encode(Job("noop", {"when": object()}))
    with pytest.raises(MalformedJob, match="not JSON"):
        encode(Job("noop", {"x": math.nan}))


def test_a_job_over_the_limit_is_refused_at_encode():
    with pytest.raises(MalformedJob, match=f"over the {MAX_JOB_BYTES} allowed"):
        encode(Job("noop", {"blob": "x" * MAX_JOB_BYTES}))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"task": "noop", "args": {}}', "no id"),
        (b'{"id": "a", "args": {}}', "no task"),
        (b'{"id": "a", "task": "noop", "args": []}', "args are not a JSON object"),
        (b'{"id": "a", "task": "noop", "key": 5}', "key is not a string"),
        (b'{"id": "a", "task": "noop", "enqueued_at": "soon"}', "enqueued_at is not a number"),
        (b'{"id": "a", "task": "noop", "not_before": true}', "not_before is not a number"),
        (b'{"id": "a", "task": "noop", "not_before": 1e400}', "not_before is not a number"),
        (b'{"id": "", "task": "noop"}', "a job id is 1-200 characters"),
        (b'{"id": "a\\n", "task": "noop"}', "printable"),
        (b"[" * 50_000, "not JSON"),
    ],
)
def test_an_envelope_that_is_wrong_says_what_is_wrong(data, reason):
    with pytest.raises(MalformedJob, match=reason):
        decode(data)


@given(st.binary(max_size=2048))
def test_no_bytes_make_decode_raise_anything_but_malformed_job(data):
    with contextlib.suppress(MalformedJob):
        decode(data)


@given(
    st.dictionaries(
        st.text(max_size=10),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=5,
    )
)
def test_any_json_args_round_trip(args):
    job = Job("noop", args, id="x")

    assert decode(encode(job)).args == args
