"""Factories for the load balancer's unit tests: what a test relies on is at its call site."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from millionscale.lb import BackendView, Pick, Policy


def backends(*names: str, **fields: object) -> list[BackendView]:
    """One :class:`BackendView` per name, all with the same ``fields``."""
    return [BackendView(name, **fields) for name in names]  # type: ignore[arg-type]


def chosen(policy: Policy, backends: Sequence[BackendView], **options: object) -> str:
    """The backend ``policy`` picks; fails the test if it picks none."""
    decision = policy.pick(backends, **options)  # type: ignore[arg-type]
    assert isinstance(decision, Pick), decision
    return decision.backend


def tally(policy: Policy, backends: Sequence[BackendView], picks: int) -> Counter[str]:
    """How many of ``picks`` successive picks went to each backend."""
    return Counter(chosen(policy, backends) for _ in range(picks))
