"""An outbox row's body is a job to publish, or a reason it is moved aside."""

from millionscale.queue import Job, encode
from millionscale.queue.outbox import triage


def test_an_encoded_job_is_the_job():
    job = Job("thumbnail", {"photo": 42}, id="j-1", key="thumb:42", enqueued_at=10.0)

    assert triage(encode(job)) == job


def test_bytes_that_are_not_json_are_refused_with_the_decoders_reason():
    reason = triage(b"\x00\x01not json")

    assert isinstance(reason, str)
    assert reason.startswith("the message is not")


def test_a_json_object_without_a_task_is_refused_saying_so():
    assert triage(b'{"id": "j-1"}') == "the job has no task (a string)"


def test_a_job_with_an_invalid_task_name_is_refused():
    reason = triage(b'{"id": "j-1", "task": "Not A Task"}')

    assert isinstance(reason, str)
    assert "task name" in reason
