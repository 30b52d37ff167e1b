"""Only idempotent requests are retried once they may have reached a backend (RFC 9110 §9.2.2)."""

import pytest

from millionscale.lb import (
    IDEMPOTENT_METHODS,
    ConnectionFailure,
    GiveUp,
    Retries,
    Retry,
    is_idempotent,
)

NOW = 1000.0


def test_the_idempotent_methods_are_rfc_9110s():
    assert {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"} == IDEMPOTENT_METHODS


@pytest.mark.parametrize("method", ["POST", "PATCH", "CONNECT", "PROPFIND", "get"])
def test_other_methods_and_other_spellings_are_not_idempotent(method):
    assert not is_idempotent(method)


@pytest.mark.parametrize("outcome", [ConnectionFailure.RESET, 502, 503])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_non_idempotent_request_that_may_have_arrived_is_never_retried(method, outcome):
    decision = Retries().decide(method, outcome, tried=["web-1"], now=NOW)

    assert isinstance(decision, GiveUp)
    assert decision.reason.endswith(f"{method} is not idempotent and may have reached web-1")


@pytest.mark.parametrize("method", ["POST", "PATCH", "GET"])
def test_a_request_never_sent_is_retried_whatever_its_method(method):
    decision = Retries().decide(method, ConnectionFailure.CONNECT, tried=["web-1"], now=NOW)

    assert decision == Retry(
        frozenset({"web-1"}),
        "connect failure from web-1 (never sent); retrying (attempt 2 of 3)",
    )


@pytest.mark.parametrize("method", sorted(IDEMPOTENT_METHODS))
@pytest.mark.parametrize("outcome", [ConnectionFailure.RESET, 502, 503])
def test_an_idempotent_request_is_retried_after_it_may_have_arrived(method, outcome):
    decision = Retries().decide(method, outcome, tried=["web-1"], now=NOW)

    assert isinstance(decision, Retry)


def test_unsafe_refusals_are_counted():
    retries = Retries()

    retries.decide("POST", 503, tried=["web-1"], now=NOW)

    assert retries.statistics().unsafe == 1
