"""`millionscale demo`: up, seed, load, report, down, with nothing left behind."""

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import Cli, all_dead
from millionscale.servers import netns

pytestmark = pytest.mark.system


def test_demo_reports_with_charts_and_leaves_nothing_running(cli: Cli):
    shutil.copytree(Path(__file__).parents[2] / "topologies", cli.workdir / "topologies")

    rooted = netns.available() is None  # hosts need root: without it they run unlimited
    unlimited = [] if rooted else ["--no-host-limits"]
    result = cli.run(
        "demo", "--users", "200", "--rate", "20", "--duration", "4", *unlimited, timeout=300
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "seeded 200 users" in result.stdout
    switched = re.search(r"switchover at 2 s into the load: primary is now (db-r\d)", result.stdout)
    assert switched is not None, result.stdout
    # The summary names the slowest request and its cause. A planned switchover within
    # one data center stalls none for a second (the goal, which
    # test_db_switchover_slowest_request.py holds); here the primary moves from
    # us-east to a standby across the wide-area link: the clean shutdown waits for
    # the standbys' flush over it, as does the promotion's every step, on hosts of a
    # quarter core (docs/db.md, "the slowest request across a planned switchover").
    slowest = re.search(
        r"slowest request: ([\d,]+) ms, sent \d+-\d+ s into the load", result.stdout
    )
    assert slowest is not None, result.stdout
    assert int(slowest.group(1).replace(",", "")) < 2000, result.stdout
    report = re.search(r"report: (\S+\.html)", result.stdout)
    assert report is not None
    html = (cli.workdir / report.group(1)).read_text()
    assert html.count('src="data:image/png;base64,') == 2  # latency and throughput charts
    assert f"primary is now {switched.group(1)}" in html
    assert slowest.group(0) in html
    cache = re.search(r"cache tiers: \d+% of the [\d,]+ lookups in the shared Redis tier hit", html)
    assert cache is not None, result.stdout
    # The load enters at an edge and fetches images as a browser would; the CDN's
    # sentence says what the edges served and what the origin (behind the shield) sent.
    assert re.search(r"at http://\S+, mix timeline 45% / image 40%", result.stdout), result.stdout
    cdn = re.search(
        r"cdn: edges served (\d+|n/a)%? of [\d.]+ MB \(hit ratio edge-1 \S+, edge-2 \S+, "
        r"edge-3 \S+, at the shield \S+\); the origin sent [\d.]+ MB",
        result.stdout,
    )
    assert cdn is not None, result.stdout
    assert cdn.group(0) in html
    images = re.search(r"images: [\d,]+ fetched \([\d.]+ MB\), \d+% of them answered", html)
    assert images is not None, result.stdout
    # The web servers hand thumbnails and fan-out to the worker through the queue: the
    # report says what the workers did during the load and what the queue held after.
    queue = re.search(
        r"queue: workers ended [\d,]+ jobs during the load, [\d,]+ done( \([^)]*\))?, "
        r"[\d,]+ retried, 0 dead-lettered, by \d workers? \(worker-1[^)]*\); "
        r"at the end 0 waiting, 0 delayed, 0 dead letters",
        result.stdout,
    )
    assert queue is not None, result.stdout
    assert queue.group(0) in html
    [data] = [json.loads(p.read_text()) for p in (cli.state_dir / "reports").glob("demo-*.json")]
    assert data["cdn"]["served_bytes"] > 0
    assert [m["name"] for m in data["cdn"]["members"]] == ["shield", "edge-1", "edge-2", "edge-3"]
    assert data["queue"]["done"] == sum(data["queue"]["done_by_task"].values())
    assert (data["queue"]["dead_lettered"], data["queue"]["end"]["depth"]) == (0, 0)
    # Stage 7: GeoDNS sends a user in New York to us-east's edge and one in Paris to
    # eu-west's, and eu-west spares Paris the Atlantic (40 ms each way, injected).
    geo = re.search(
        r"GeoDNS sent users in new-york to edge-1 and users in paris to edge-3; timeline reads, "
        r"median: new-york (\d+) ms \(all in us-east: (\d+) ms\), "
        r"paris (\d+) ms \(all in us-east: (\d+) ms\)",
        result.stdout,
    )
    assert geo is not None, result.stdout
    assert geo.group(0) in html
    paris, paris_far = int(geo.group(3)), int(geo.group(4))
    assert paris + 50 < paris_far, geo.group(0)  # 70 ms of round trips saved, at least 50
    assert {"new-york.read", "paris.read"} <= set(data["geo"]["geo"])
    # Every process is on a host of its own and only the CDN edges' and GeoDNS's face
    # the public side (on loopback, unlimited, without root); the console and the report
    # say which, and what each host used of its CPU quota during the load.
    network = re.search(
        r"(private subnet \S+: db-1, db-2, db-3, monitor, sessions, cache, web-1, web-2, "
        r"queue, worker-1, balancer, shield, lb-2, web-3, cache-2, reachable only through "
        r"edge-1 \(\S+\), edge-2 \(\S+\), edge-3 \(\S+\), dns \(\S+\); 19 hosts, "
        r"each held to its CPU quota)",
        result.stdout,
    )
    hosts = re.search(r"hosts during the load, CPU used against quota: (.*)", html)
    fallback = "no private subnet (network namespaces need root)"
    if rooted:
        assert network is not None, result.stdout
        assert network.group(1) in html
        assert hosts is not None, result.stdout
        assert all(f"{name} " in hosts.group(1) for name in ("web-1", "web-2", "db-1")), hosts
    else:
        assert fallback in result.stdout
    assert cli.status()["running"] is False
    published = json.loads((cli.state_dir / "state.json").read_text())
    log = (cli.state_dir / "logs" / "supervisor.log").read_text()
    started = [int(pid) for pid in re.findall(r"started as pid (\d+)", log)]
    # db, db-r1, db-r2, db-monitor, sessions, cache, queue, web-1, web-2, worker-1,
    # autoscaler, lb, shield, edge-1, edge-2, and eu-west's cache-2, web-3, lb-2 and
    # edge-3, and dns; the old primary, shut down cleanly by the switchover, may restart
    # once, and the autoscaler may start worker-2
    assert len(started) in (20, 21, 22)
    assert all_dead([*started, published["supervisor_pid"]])
