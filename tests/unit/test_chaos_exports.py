"""The public names of millionscale.chaos are a deliberate list; each one resolves."""

import millionscale.chaos as chaos


def test_every_exported_name_exists():
    missing = [name for name in chaos.__all__ if not hasattr(chaos, name)]

    assert missing == []


def test_the_proxy_its_cores_and_records_are_exported():
    wanted = {"FaultProxy", "Faults", "Link", "Partition", "DelayLine", "TokenBucket", "admit"}

    assert wanted <= set(chaos.__all__)
