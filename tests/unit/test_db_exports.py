"""The public names of millionscale.db are a deliberate list; each one resolves."""

import millionscale.db as db


def test_every_exported_name_exists():
    missing = [name for name in db.__all__ if not hasattr(db, name)]

    assert missing == []


def test_the_router_core_and_records_are_exported():
    assert {"Router", "RouterStatistics", "Routing", "NodeState", "Session"} <= set(db.__all__)
    assert {"Strong", "ReadYourWrites", "BoundedStaleness", "Eventual"} <= set(db.__all__)
