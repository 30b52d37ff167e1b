"""``millionscale queue`` refuses bad arguments before it connects to anything, with exit
code 2 and one line saying why; a broker's URL (its token) is never echoed."""

import sys

import pytest
from factories import resolved

from millionscale.cli import main
from millionscale.cli._queue import BrokerAt, broker_process, with_broker
from millionscale.errors import QueueError, TopologyError
from millionscale.servers import netns
from millionscale.topology.model import Topology

TOKEN = "s3cret-token"


def run(monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["millionscale", "queue", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    assert isinstance(code, int)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["retry"], "no dead letter named: give its ID or --all"),
        (["retry", "3", "--all"], "name one dead letter or --all, not both"),
        (["retry", "0"], "invalid value for 'ID': Input should be greater than or equal to 1"),
        (["retry", "three"], "invalid value for 'ID': Input should be a valid integer"),
        (["dead-letters", "--limit", "0"], "'--limit': Input should be greater than or equal to 1"),
        (["dead-letters", "--limit", "10001"], "should be less than or equal to 10000"),
        (["status", "--queue", "Jobs"], "--queue 'Jobs' is not a queue name"),
        (["status", "--everything"], "no such option: --everything"),
        (["status", "--url", f"http://{TOKEN}@host:80"], "--url must be nats://TOKEN@HOST:PORT"),
        (["status", "--url", f"nats://{TOKEN}@host:port"], "--url is not a URL"),
        (["status", "--url", f"{TOKEN}@host"], "not a URL without a scheme"),
    ],
)
def test_a_bad_argument_exits_2_with_its_reason(argv, said, monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("QUEUE_URL", raising=False)

    code, out, err = run(monkeypatch, capsys, *argv, "--state-dir", str(tmp_path))

    assert code == 2
    assert said in err
    assert err.count("\n") == 1
    assert out == ""
    assert TOKEN not in err


def test_queue_url_from_the_environment_is_checked_as_the_option_is(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("QUEUE_URL", f"redis://{TOKEN}@host:6379")

    code, _, err = run(monkeypatch, capsys, "status", "--state-dir", str(tmp_path))

    assert code == 2
    assert "--url must be nats://TOKEN@HOST:PORT, not a redis:// URL" in err
    assert TOKEN not in err


@pytest.mark.parametrize("argv", [["status"], ["dead-letters"], ["retry", "--all"]])
def test_without_a_running_topology_or_a_url_it_says_so(argv, monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("QUEUE_URL", raising=False)

    code, _, err = run(monkeypatch, capsys, *argv, "--state-dir", str(tmp_path))

    assert code == 2
    assert err == "error: no topology is running here (run 'millionscale up' first)\n"


def topology(tmp_path, **processes):
    parsed = Topology.model_validate({"topology": {"name": "t"}, "processes": processes})
    return resolved(parsed, tmp_path / "state")


def test_the_broker_is_the_topologys_nats_in_tier_queue(tmp_path):
    found = topology(
        tmp_path,
        events={"tier": "events", "engine": "nats"},
        queue={"tier": "queue", "engine": "nats"},
        cache={"tier": "queue", "engine": "redis"},
    )

    assert broker_process(found).name == "queue"


def test_a_topology_without_a_broker_is_a_clear_error(tmp_path):
    without = topology(tmp_path, db={"tier": "db", "engine": "postgres"})

    with pytest.raises(TopologyError) as raised:
        broker_process(without)

    assert raised.value.one_line() == (
        "topology 't' runs no message queue (no process with engine 'nats' in tier 'queue') "
        "(start one that does, e.g. 'millionscale up topologies/queued.toml', "
        "or name a broker with --url)"
    )


def test_a_broker_namespace_that_cannot_be_entered_is_a_clear_error():
    gone = BrokerAt("nats://t@10.1.2.3:4222", "ms-test-gone-queue", "queue")  # no such netns
    assert not netns.exists("ms-test-gone-queue")

    with pytest.raises(QueueError) as raised:
        with_broker(gone, "jobs", lambda broker: broker.status())

    assert raised.value.one_line() == (
        "cannot reach the broker from its network namespace ms-test-gone-queue: "
        "No such file or directory (run this as the user that started the topology "
        "(namespaces need root), while it runs)"
    )
