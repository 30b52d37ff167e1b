"""Only connection failures, 502 and 503 are retried; never a body that cannot be resent."""

import pytest

from millionscale.lb import ConnectionFailure, GiveUp, Retries, Retry, RetryPolicy

NOW = 1000.0


@pytest.mark.parametrize("status", [500, 501, 504, 429, 404])
def test_other_statuses_are_passed_to_the_client(status):
    decision = Retries().decide("GET", status, tried=["web-1"], now=NOW)

    assert decision == GiveUp(
        f"{status} from web-1; only 502, 503 and connection failures are retried"
    )


def test_a_timed_out_request_is_not_retried_by_default():
    decision = Retries().decide("GET", ConnectionFailure.TIMEOUT, tried=["web-1"], now=NOW)

    assert decision == GiveUp("timeout from web-1; the request may still be running, not retried")


def test_timeouts_can_be_retried_when_asked():
    retries = Retries(RetryPolicy(retry_timeouts=True))

    decision = retries.decide("GET", ConnectionFailure.TIMEOUT, tried=["web-1"], now=NOW)

    assert isinstance(decision, Retry)


def test_a_streamed_body_that_was_not_kept_is_not_resent():
    decision = Retries().decide(
        "PUT", ConnectionFailure.RESET, tried=["web-1"], now=NOW, replayable=False
    )

    assert decision == GiveUp(
        "connection reset from web-1; the request body was not kept, it cannot be resent"
    )
