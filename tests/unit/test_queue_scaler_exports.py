"""millionscale.queue exports the scaler's public names; each one resolves."""

import millionscale.queue as queue

SCALER = {"Hold", "Scale", "Scaler", "ScalerSettings", "ScalerStatistics"}
AUTOSCALE = {"Autoscaler", "SupervisorWorkers"}


def test_the_scaler_names_are_exported_and_resolve():
    exported = set(queue.__all__)

    assert exported >= SCALER | AUTOSCALE
    assert all(hasattr(queue, name) for name in SCALER | AUTOSCALE)


def test_the_exported_names_are_sorted_and_unique():
    assert list(queue.__all__) == sorted(queue.__all__, key=lambda n: (not n.isupper(), n))
    assert len(queue.__all__) == len(set(queue.__all__))
