"""SupervisorWorkers counts and scales a worker set through the supervisor's control
endpoint: the real endpoint (its HTTP layer on a Unix socket) and the real client
(HttpDiscovery), over a membership that scales in memory as the supervisor would."""

import asyncio
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import pytest
from queue_scaler_factories import BEHIND

from millionscale.discovery import HttpDiscovery, Member, Scaled
from millionscale.errors import DiscoveryError, MembershipError
from millionscale.queue import Autoscaler, Scale, Scaler, ScalerSettings, SupervisorWorkers
from millionscale.testing import FakeClock
from millionscale.topology.endpoint import ControlEndpoint, control_app
from millionscale.topology.live import LiveView

TOKEN = "s3cret"


def _worker(index: int, health: str = "ready") -> Member:
    return Member(f"worker-{index}", "worker", "10.0.0.1", {"main": 9000 + index}, health=health)  # type: ignore[arg-type]


class Supervisor:
    """Scales set ``worker`` (tier ``worker``) in memory: the highest-numbered drain first,
    the lowest free numbers start (a draining replica, ``stopping``, keeps its number)."""

    def __init__(self, view: LiveView, refuse_over: int = 64) -> None:
        self.view = view
        self.refuse_over = refuse_over

    def add(self, name: str, like: str) -> Future[Member]:
        raise NotImplementedError

    def remove(self, name: str, drain_s: float | None) -> Future[Member]:
        raise NotImplementedError

    def scale(self, name: str, replicas: int) -> Future[Scaled]:
        future: Future[Scaled] = Future()
        if replicas > self.refuse_over:
            future.set_exception(MembershipError("worker: no free number for more replicas"))
            return future
        members = list(self.view.snapshot().members)
        live = [m for m in members if m.tier == "worker" and m.health in ("starting", "ready")]
        taken = {m.name for m in members}
        free = (i for i in range(1, 65) if f"worker-{i}" not in taken)
        started = [_worker(next(free), "starting") for _ in range(replicas - len(live))]
        drained: list[Member] = []
        for member in sorted(live, key=lambda m: m.name, reverse=True)[: len(live) - replicas]:
            drained.append(replace(member, health="stopping"))
        keep = [m for m in members if m.name not in {d.name for d in drained}]
        self.view.publish([*keep, *drained, *started])
        future.set_result(Scaled("worker", replicas, tuple(started), tuple(drained)))
        return future


@pytest.fixture
def endpoint() -> Iterator[tuple[Path, LiveView]]:
    view = LiveView(start=1)
    other = Member("queue-1", "queue", "10.0.0.2", {"main": 4222})
    view.publish([other, _worker(1), _worker(2), _worker(3, "stopping")])
    path = Path(tempfile.mkdtemp(prefix="ms-", dir="/tmp")) / "control.sock"
    served = ControlEndpoint(control_app(view, Supervisor(view, refuse_over=10), TOKEN), path)
    served.start()
    try:
        yield path, view
    finally:
        served.stop()


def test_the_count_is_the_set_s_members_that_are_not_leaving(endpoint):
    path, _view = endpoint

    async def count() -> int:
        async with HttpDiscovery(path, TOKEN) as control:
            return await SupervisorWorkers(control, "worker").count()

    assert asyncio.run(count()) == 2  # worker-3 is stopping, queue-1 is another set


def test_scaling_asks_the_supervisor_and_answers_how_many_run(endpoint):
    path, _view = endpoint

    async def scale() -> tuple[int, int, int]:
        async with HttpDiscovery(path, TOKEN) as control:
            workers = SupervisorWorkers(control, "worker")
            up = await workers.scale(5)
            counted = await workers.count()
            down = await workers.scale(4)
            return up, counted, down

    assert asyncio.run(scale()) == (5, 5, 4)


def test_a_refusal_reaches_the_caller_as_a_discovery_error(endpoint):
    path, _view = endpoint

    async def scale() -> int:
        async with HttpDiscovery(path, TOKEN) as control:
            return await SupervisorWorkers(control, "worker").scale(11)

    with pytest.raises(DiscoveryError, match="no free number"):
        asyncio.run(scale())


def test_an_autoscaler_through_the_supervisor_scales_the_set(endpoint):
    path, view = endpoint

    async def status():
        return BEHIND

    async def step() -> object:
        async with HttpDiscovery(path, TOKEN) as control:
            loop = Autoscaler.through_supervisor(
                control, "worker", status, Scaler(ScalerSettings(max_workers=8)), FakeClock()
            )
            return await loop.step()

    decision = asyncio.run(step())

    assert isinstance(decision, Scale)
    assert decision.reason.startswith("2 → 6 workers: the oldest job waited 30.0 s")
    live = [m for m in view.snapshot().members if m.tier == "worker" and m.health != "stopping"]
    assert len(live) == 6
