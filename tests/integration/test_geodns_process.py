"""``python -m millionscale.geodns``: a bad flag or zone exits 2 with one line; a data
center whose check stops answering stops being answered within the stated bound
(fall x inter + timeout), and comes back once its check passes again; SIGTERM stops
it cleanly."""

from __future__ import annotations

import http.server
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dns.edns
import dns.message
import dns.query
import pytest

from millionscale.geodns.checker import POLICY, detection_bound_s
from millionscale.geodns.geoip import Place, write_database
from millionscale.servers import free_port
from millionscale.testing import spawn_module, wait_ready

pytestmark = pytest.mark.integration

SHIPPED = Path(__file__).parents[2] / "topologies/geodns/photos.zone.toml"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "millionscale.geodns", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        [],  # no --zone
        ["--zone", "/nonexistent/zone.toml"],
        ["--zone", str(SHIPPED), "--geoip", "/nonexistent/x.mmdb"],
        ["--zone", str(SHIPPED), "--port", "70000"],
        ["--zone", str(SHIPPED), "--admin-port", "-1"],
        ["--zone", str(SHIPPED), "--port", "zero"],
    ],
)
def test_a_bad_command_line_exits_2_with_one_line(args: list[str]) -> None:
    done = _run(*args)

    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_zone_file_exits_2_naming_its_line(tmp_path: Path) -> None:
    zone = tmp_path / "zone.toml"
    zone.write_text(SHIPPED.read_text().replace("serial = 1", "serial = -1"))

    done = _run("--zone", str(zone), "--port", "0")

    assert done.returncode == 2
    assert f"{zone}:" in done.stderr
    assert "soa.serial" in done.stderr


def test_a_port_in_use_exits_2_with_one_line() -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        done = _run("--zone", str(SHIPPED), "--port", str(port))

    assert done.returncode == 2
    assert "cannot listen for DNS" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


class _Ready(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class CheckTarget:
    """A data center's /readyz on loopback that can be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), _Ready)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def targets() -> Iterator[dict[str, CheckTarget]]:
    both = {"us-east": CheckTarget(), "eu-west": CheckTarget()}
    for target in both.values():
        target.start()
    yield both
    for target in both.values():
        if target._server is not None:
            target._server.server_close()


def _zone(tmp_path: Path, targets: dict[str, CheckTarget]) -> Path:
    """The shipped zone with each data center checked at its target on loopback."""
    text = SHIPPED.read_text()
    for name, address in (("us-east", "10.1.0.10"), ("eu-west", "10.2.0.10")):
        line = f'addresses = ["{address}"]'
        assert line in text
        url = f"http://127.0.0.1:{targets[name].port}/readyz"
        text = text.replace(line, f'{line}\ncheck = "{url}"')
    path = tmp_path / "zone.toml"
    path.write_text(text)
    return path


def _answer(port: int) -> str:
    query = dns.message.make_query(
        "www.photos.test.", "A", use_edns=0, options=[dns.edns.ECSOption("192.0.2.0", 24)]
    )
    reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=2)
    return str(reply.answer[0][0].address)


def _until(port: int, address: str, within_s: float) -> float:
    """Seconds until the European answer is ``address``; fails after ``within_s``."""
    start = time.monotonic()
    while time.monotonic() - start < within_s:
        if _answer(port) == address:
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"the answer was not {address} within {within_s} s")


def test_a_failed_data_center_stops_being_answered_within_the_bound(
    tmp_path: Path, targets: dict[str, CheckTarget]
) -> None:
    geoip = write_database(tmp_path / "p.mmdb", {"192.0.2.0/24": Place("EU", "DE")})
    port, admin = free_port(), free_port()
    args = ["--zone", str(_zone(tmp_path, targets)), "--geoip", str(geoip)]
    with spawn_module(
        "millionscale.geodns", *args, "--port", str(port), "--admin-port", str(admin)
    ) as child:
        wait_ready(
            f"http://127.0.0.1:{admin}/readyz", 30, process=child.process, log=child.log_path
        )
        assert _answer(port) == "10.2.0.10"

        targets["eu-west"].stop()
        moved = _until(port, "10.1.0.10", detection_bound_s() + 1.0)
        targets["eu-west"].start()
        back = _until(port, "10.2.0.10", POLICY.rise * POLICY.inter_s + 2.0)

        child.process.send_signal(signal.SIGTERM)
        assert child.process.wait(timeout=20) == 0
        log = child.log()

    assert moved <= detection_bound_s() + 1.0
    assert back <= POLICY.rise * POLICY.inter_s + 2.0
    assert "eu-west is down" in log
    assert '"event": "stopped"' in log
