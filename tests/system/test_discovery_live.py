"""The supervisor's control endpoint: the live snapshot read and watched through
HttpDiscovery while a process is added and removed, role claims, bad requests."""
# Members are found by name (Member | None), and watch() is an async generator:
# mypy: disable-error-code="union-attr, attr-defined"

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from conftest import Cli
from millionscale.discovery import HttpDiscovery, Snapshot, connect
from millionscale.errors import DiscoveryError, StaleEpochError
from millionscale.servers import netns
from millionscale.topology.state import SUN_PATH_MAX, StateDir

pytestmark = pytest.mark.system

TWO_SERVERS = """
[topology]
name = "two"

[processes.web-1]
tier = "web"
role = "app"
command = ["{python}", "-m", "http.server", "{port}", "--bind", "{host}"]
readiness = { tcp = true }

[processes.web-2]
tier = "web"
role = "app"
command = ["{python}", "-m", "http.server", "{port}", "--bind", "{host}"]
readiness = { tcp = true }
"""
WATCH_LIMIT_S = 30.0  # every wait below is bounded by this


@pytest.fixture
def running(cli: Cli) -> Cli:
    up = cli.run("up", str(cli.write_topology(TWO_SERVERS)), "--detach", "--timeout", "60")
    assert up.returncode == 0, up.stderr
    return cli


def _endpoint(cli: Cli) -> tuple[Path, str]:
    state = StateDir(cli.state_dir)
    return state.control_socket(), state.admin_token_file.read_text().strip()


async def _until(watch, predicate, seen: list[Snapshot]) -> Snapshot:
    async with asyncio.timeout(WATCH_LIMIT_S):
        async for snapshot in watch:
            seen.append(snapshot)
            if predicate(snapshot):
                return snapshot
    raise AssertionError("the watch ended")


def _health(snapshot: Snapshot, name: str) -> str | None:
    member = snapshot.member(name)
    return member.health if member is not None else None


def test_a_process_added_and_removed_at_run_time_is_seen_by_a_watcher(running: Cli):
    path, token = _endpoint(running)
    assert len(bytes(path)) <= SUN_PATH_MAX
    assert path.stat().st_mode & 0o777 == 0o600

    async def scenario() -> list[Snapshot]:
        seen: list[Snapshot] = []
        async with HttpDiscovery(path, token, wait_s=5.0) as discovery:
            first = await discovery.snapshot()
            assert [m.name for m in first.tier("web", ready_only=True)] == ["web-1", "web-2"]
            watch = discovery.watch(first.version)

            added = await discovery.add_process("web-3", like="web-1")
            assert added.tier == "web"
            assert added.ports["main"] not in (first.member("web-1").ports["main"],)
            ready = await _until(watch, lambda s: _health(s, "web-3") == "ready", seen)
            web3 = ready.member("web-3")
            async with httpx.AsyncClient(timeout=5) as web:
                assert (await web.get(f"http://{web3.address()}/")).status_code == 200

            gone = await discovery.remove_process("web-3", drain_s=1.0)
            assert gone.health == "stopping"
            await _until(watch, lambda s: _health(s, "web-3") == "stopping", seen)
            after = await _until(watch, lambda s: s.member("web-3") is None, seen)
            assert [m.name for m in after.members] == ["web-1", "web-2"]
            await watch.aclose()
        return seen

    seen = asyncio.run(scenario())

    versions = [s.version for s in seen]
    assert versions == sorted(set(versions))  # never one twice, never an older one
    names = {p["name"] for p in running.status()["processes"]}
    assert names == {"web-1", "web-2"}


def test_role_claims_are_compare_and_set_on_the_epoch(running: Cli):
    path, token = _endpoint(running)

    async def scenario() -> Snapshot:
        async with HttpDiscovery(path, token) as discovery:
            assert (await discovery.claim("web/leader", "web-1", 1)).holder == "web-1"
            assert (await discovery.claim("web/leader", "web-1", 1)).epoch == 1  # a retry
            with pytest.raises(StaleEpochError) as stale:
                await discovery.claim("web/leader", "web-2", 1)
            assert (stale.value.holder, stale.value.epoch) == ("web-1", 1)
            await discovery.claim("web/leader", "web-2", 2)
            return await discovery.snapshot()

    snapshot = asyncio.run(scenario())

    assert snapshot.holder("web/leader").name == "web-2"
    assert snapshot.roles["web/leader"].epoch == 2


def test_connect_reads_the_token_from_the_file_the_environment_names(running: Cli, monkeypatch):
    path, _token = _endpoint(running)
    monkeypatch.setenv(
        "MILLIONSCALE_DISCOVERY_TOKEN_FILE", str(StateDir(running.state_dir).admin_token_file)
    )

    async def scenario() -> Snapshot:
        discovery = connect(f"unix:{path}")
        assert isinstance(discovery, HttpDiscovery)
        try:
            return await discovery.snapshot()
        finally:
            await discovery.aclose()

    assert {m.name for m in asyncio.run(scenario()).members} == {"web-1", "web-2"}


def test_a_blocking_query_is_held_until_its_wait_runs_out(running: Cli):
    path, token = _endpoint(running)
    headers = {"authorization": f"bearer {token}"}  # the scheme in any case
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), base_url="http://x") as client:
        version = int(client.get("/v1/snapshot", headers=headers).headers["x-discovery-version"])
        began = time.monotonic()
        held = client.get(f"/v1/snapshot?after={version}&wait=1", headers=headers, timeout=10)
        waited = time.monotonic() - began
        at_once = client.get(f"/v1/snapshot?after={version - 1}&wait=30", headers=headers)

    assert held.status_code == 200
    assert 0.9 <= waited < 5
    assert held.json()["version"] == version
    assert at_once.json()["version"] == version


BAD = [
    ("GET", "/v1/snapshot?after=abc", None, 400, "after='abc'"),
    ("GET", "/v1/snapshot?after=1&wait=-1", None, 400, "wait='-1'"),
    ("GET", "/v1/snapshot?after=1&wait=nan", None, 400, "wait='nan'"),
    ("POST", "/v1/processes", b"{not json", 400, "JSON"),
    ("POST", "/v1/processes", b'{"name": "web-9"}', 400, "like"),
    ("POST", "/v1/processes", b'{"name": "Web 9", "like": "web-1"}', 400, "name"),
    ("POST", "/v1/processes", b'{"name": "web-9", "like": "nope"}', 404, "no process named nope"),
    ("POST", "/v1/processes", b'{"name": "web-2", "like": "web-1"}', 409, "web-2 already runs"),
    ("DELETE", "/v1/processes/nope", None, 404, "no process named nope"),
    ("DELETE", "/v1/processes/web-2?drain=-3", None, 400, "drain='-3'"),
    ("POST", "/v1/roles/web/leader", b'{"holder": "web-1", "epoch": -1}', 400, "epoch"),
    ("POST", "/v1/roles/web/leader", b'{"holder": "web-1", "epoch": "1"}', 400, "epoch"),
    ("POST", "/v1/roles/Web/leader", b'{"holder": "web-1", "epoch": 1}', 400, "'Web'"),
    ("GET", "/v1/nowhere", None, 404, "Not Found"),
    ("PUT", "/v1/snapshot", None, 405, "Method Not Allowed"),
]


def test_bad_requests_get_a_4xx_with_a_detail(running: Cli):
    path, token = _endpoint(running)
    transport = httpx.HTTPTransport(uds=str(path))
    with httpx.Client(transport=transport, base_url="http://x", timeout=10) as client:
        anonymous = client.get("/healthz")
        wrong = client.get("/healthz", headers={"authorization": "Bearer nope"})
        answers = [
            client.request(method, url, content=body, headers={"authorization": f"Bearer {token}"})
            for method, url, body, _status, _words in BAD
        ]
        healthy = client.get("/healthz", headers={"authorization": f"BEARER {token}"})

    assert anonymous.status_code == wrong.status_code == 401
    assert "admin token" in anonymous.json()["detail"]
    for (method, url, _body, status, words), answer in zip(BAD, answers, strict=True):
        assert answer.status_code == status, (method, url, answer.text)
        assert words in answer.json()["detail"], (method, url, answer.text)
    assert healthy.json() == {"status": "ok"}


def test_the_endpoint_is_gone_once_the_topology_is_down(running: Cli):
    path, token = _endpoint(running)

    down = running.run("down")

    assert down.returncode == 0, down.stderr
    assert not path.exists()
    with pytest.raises(DiscoveryError, match="does not answer"):
        asyncio.run(_snapshot_once(path, token))


async def _snapshot_once(path: Path, token: str) -> Snapshot:
    async with HttpDiscovery(path, token) as discovery:
        return await discovery.snapshot()


def test_a_process_reads_discovery_through_its_placeholder(cli: Cli):
    reader = """
[topology]
name = "reader"

[processes.web-1]
tier = "web"
command = ["{python}", "-m", "http.server", "{port}", "--bind", "{host}"]
readiness = { tcp = true }

[processes.reader]
tier = "tool"
command = ["{python}", "-c", "import asyncio, sys; from millionscale.discovery import connect; d = connect(sys.argv[1]); print('SEEN', sorted(m.name for m in asyncio.run(d.snapshot()).members), flush=True); import time; time.sleep(600)", "{discovery}"]
depends_on = ["web-1"]
readiness = { none = true }
"""
    up = cli.run("up", str(cli.write_topology(reader)), "--detach", "--timeout", "60")
    assert up.returncode == 0, up.stderr
    log = cli.state_dir / "logs" / "reader.log"
    deadline = time.monotonic() + WATCH_LIMIT_S
    while "SEEN" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.1)

    assert "SEEN ['reader', 'web-1']" in log.read_text()
    resolved = json.loads((cli.state_dir / "topology.json").read_text())
    reader_env = next(p for p in resolved["processes"] if p["name"] == "reader")["env"]
    assert reader_env["MILLIONSCALE_DISCOVERY_TOKEN_FILE"].endswith("admin-token")


def test_the_command_line_lists_adds_and_removes_through_the_endpoint(running: Cli):
    added = running.run("process", "add", "web-5", "--like", "web-2")
    listed = running.run("discovery")
    as_json = running.run("discovery", "--json")
    removed = running.run("process", "remove", "web-5", "--drain", "0")
    twice = running.run("process", "add", "web-1", "--like", "web-2")

    assert added.returncode == 0, added.stderr
    assert "web-5" in added.stdout
    assert listed.returncode == 0, listed.stderr
    assert "web-5" in listed.stdout
    assert "discovery (version" in listed.stdout
    assert {m["name"] for m in json.loads(as_json.stdout)["members"]} >= {"web-1", "web-5"}
    assert removed.returncode == 0, removed.stderr
    assert "stopping" in removed.stdout
    assert twice.returncode == 2
    assert "web-1 already runs" in twice.stderr


def test_the_command_line_says_when_no_topology_runs(cli: Cli):
    result = cli.run("discovery")

    assert result.returncode == 2
    assert "no topology is running here" in result.stderr


PRIVATE = """
[topology]
name = "private"

[processes.web-1]
tier = "web"
network = "private"
command = ["{python}", "-m", "http.server", "{port}", "--bind", "{host}"]
readiness = { tcp = true }
"""


@pytest.mark.skipif(netns.available() is not None, reason="network namespaces need root")
def test_a_process_added_on_the_private_subnet_gets_a_namespace_of_its_own(cli: Cli):
    up = cli.run("up", str(cli.write_topology(PRIVATE)), "--detach", "--timeout", "60")
    assert up.returncode == 0, up.stderr
    path, token = _endpoint(cli)

    async def scenario() -> tuple[Snapshot, Snapshot, str, Snapshot]:
        seen: list[Snapshot] = []
        async with HttpDiscovery(path, token, wait_s=5.0) as discovery:
            first = await discovery.snapshot()
            watch = discovery.watch(first.version)
            await discovery.add_process("web-2", like="web-1")
            ready = await _until(watch, lambda s: _health(s, "web-2") == "ready", seen)
            namespace = json.loads((cli.state_dir / "topology.json").read_text())
            await discovery.remove_process("web-2", drain_s=0)
            after = await _until(watch, lambda s: s.member("web-2") is None, seen)
            await watch.aclose()
        web2 = next(p for p in namespace["processes"] if p["name"] == "web-2")
        return first, ready, web2["netns"], after

    first, ready, namespace, after = asyncio.run(scenario())

    web1, web2 = first.member("web-1"), ready.member("web-2")
    assert web2.host != web1.host
    assert web2.host.rsplit(".", 1)[0] == web1.host.rsplit(".", 1)[0]  # the same subnet
    assert web2.ports == web1.ports  # a namespace of its own: the same port is free there
    assert namespace.endswith("-web-2")
    assert not netns.exists(namespace)  # left with the process
    assert after.member("web-1").ready
