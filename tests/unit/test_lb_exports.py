"""The public names of millionscale.lb are a deliberate list; each one resolves."""

import importlib

import pytest

import millionscale.lb as lb

EXPORTED = {
    # the balancer, its settings and its statistics
    "Balancer", "BalancerSettings", "KNOBS", "Knob", "BalancerStatistics", "BackendStatistics",
    # membership from discovery
    "Add", "Drain", "Remove", "Plan", "Present", "reconcile",
    # the request head
    "HttpLimits", "Refusal", "RequestHead", "check_head",
    # outcomes
    "ConnectionFailure", "Outcome",
    # policies
    "DEFAULT_POLICY", "EWMA_DECAY_S", "EWMA_DEFAULT_RTT_S", "POLICIES", "BackendView",
    "ConsistentHash", "Decision", "Ewma", "LeastOutstanding", "NoBackend", "Pick", "Policy",
    "PolicyStatistics", "PowerOfTwoChoices", "RoundRobin", "WeightedRoundRobin", "make_policy",
    # health
    "DRAIN_TIMEOUT_S", "FALL", "INTER_S", "RISE", "SLOW_START_MIN_FACTOR", "SLOW_START_S",
    "TRANSITIONS", "Event", "HealthCheck", "HealthPolicy", "HealthStatistics",
    "IllegalTransition", "InitState", "State", "Transition",
    # outliers
    "Ejection", "OutlierDetector", "OutlierPolicy", "OutlierStatistics", "Overflow", "Return",
    # retries
    "IDEMPOTENT_METHODS", "BudgetPolicy", "BudgetStatistics", "GiveUp", "Retries", "Retry",
    "RetryBudget", "RetryDecision", "RetryPolicy", "RetryStatistics", "is_idempotent",
}  # fmt: skip


def test_the_exported_names_are_exactly_the_deliberate_list():
    assert set(lb.__all__) == EXPORTED
    assert len(lb.__all__) == len(EXPORTED)


def test_every_exported_name_exists():
    missing = [name for name in lb.__all__ if not hasattr(lb, name)]

    assert missing == []


def test_the_cores_and_their_records_are_exported():
    cores = {"make_policy", "Ewma", "HealthCheck", "OutlierDetector", "Retries", "RetryBudget"}
    records = {"BackendView", "Pick", "NoBackend", "Transition", "Ejection", "Retry", "GiveUp"}

    assert cores | records <= set(lb.__all__)


def test_the_request_head_core_is_exported():
    assert {"check_head", "RequestHead", "Refusal", "HttpLimits"} <= set(lb.__all__)


HTTP_MODULES = {
    "head": {
        "Refusal",
        "RequestHead",
        "check_head",
        "field_refusal",
        "head_too_large",
        "target_refusal",
    },
    "limits": {
        "HEADER_TIMEOUT_S",
        "IDLE_TIMEOUT_S",
        "MAX_BODY_BYTES",
        "MAX_FIELDS",
        "MAX_FIELD_BYTES",
        "MAX_HEADER_BYTES",
        "MAX_PIPELINED",
        "MAX_TARGET_BYTES",
        "HttpLimits",
    },
    "connection": {"Exchange", "NullExchange", "ServerConnection", "StartExchange"},
    "deadline": {"Deadline"},
    "answers": {"error_bytes", "status_line"},
    "http": {"Handler", "HttpLimits", "Reply", "Request", "error_reply", "reply_bytes", "serve"},
}


@pytest.mark.parametrize("module", sorted(HTTP_MODULES))
def test_each_http_module_exports_exactly_its_concept(module):
    imported = importlib.import_module(f"millionscale.lb.{module}")

    assert set(imported.__all__) == HTTP_MODULES[module]
    assert all(hasattr(imported, name) for name in imported.__all__)


SHELL_MODULES = {
    "balancer": {"Balancer"},
    "backend": {"SWEEP_S", "Backend", "parse_backend"},
    "upstream": {"Upstream"},
    "forward": {"Forward"},
    "checker": {"HealthChecker"},
}


@pytest.mark.parametrize("module", sorted(SHELL_MODULES))
def test_each_shell_module_exports_exactly_its_concept(module):
    imported = importlib.import_module(f"millionscale.lb.{module}")

    assert set(imported.__all__) == SHELL_MODULES[module]
    assert all(hasattr(imported, name) for name in imported.__all__)


def test_the_balancer_shell_has_no_proxy_module_left():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("millionscale.lb.proxy")
