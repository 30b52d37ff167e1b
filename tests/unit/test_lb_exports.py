"""The public names of millionscale.lb are a deliberate list; each one resolves."""

import millionscale.lb as lb


def test_every_exported_name_exists():
    missing = [name for name in lb.__all__ if not hasattr(lb, name)]

    assert missing == []


def test_the_cores_and_their_records_are_exported():
    cores = {"make_policy", "Ewma", "HealthCheck", "OutlierDetector", "Retries", "RetryBudget"}
    records = {"BackendView", "Pick", "NoBackend", "Transition", "Ejection", "Retry", "GiveUp"}

    assert cores | records <= set(lb.__all__)
