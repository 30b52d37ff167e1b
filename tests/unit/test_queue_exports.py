"""The public names of millionscale.queue are a deliberate, sorted list; each one resolves."""

import millionscale.queue as queue


def test_every_exported_name_exists():
    missing = [name for name in queue.__all__ if not hasattr(queue, name)]

    assert missing == []


def test_the_outbox_and_idempotency_names_are_exported():
    assert {"OutboxRelay", "OutboxStatistics", "enqueue_in", "OUTBOX_SCHEMA"} <= set(queue.__all__)
    assert {"claim", "forget_before", "EFFECTS_SCHEMA"} <= set(queue.__all__)


def test_the_broker_interface_its_engine_and_the_worker_are_exported():
    assert {"Broker", "Delivery", "JetStreamBroker", "Worker", "RetryPolicy"} <= set(queue.__all__)
