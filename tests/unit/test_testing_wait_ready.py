"""wait_ready: bounded, and when it gives up it says what it last saw."""

import itertools
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from millionscale.errors import ServerStartError
from millionscale.servers import free_port
from millionscale.testing import wait_ready


def test_a_check_that_turns_true_returns_at_once():
    answers = itertools.chain([False, 0, None], itertools.repeat(True))

    when = wait_ready(lambda: next(answers), timeout=5, interval=0.001)

    assert when > 0


def test_a_check_that_stays_false_raises_with_its_last_answer():
    with pytest.raises(ServerStartError, match=r"not ready within 0\.05 s; last saw \[\]"):
        wait_ready(list, timeout=0.05, interval=0.01, what="the list")


def test_a_description_of_the_state_is_added_when_it_gives_up():
    roles = {"db": "primary", "r1": "replica"}

    with pytest.raises(ServerStartError, match=r"last saw False; then \{'db': 'primary'"):
        wait_ready(lambda: False, timeout=0.02, interval=0.01, describe=lambda: roles)


def test_a_refused_connection_counts_as_not_yet_and_is_what_the_error_shows():
    url = f"http://127.0.0.1:{free_port()}/readyz"

    with pytest.raises(ServerStartError, match="last saw ConnectError") as err:
        wait_ready(url, timeout=0.1, interval=0.02)

    assert url in err.value.message


def test_an_answer_other_than_200_is_quoted_with_its_status_and_body():
    class NotReady(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"detail": "database down"}'
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotReady)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(ServerStartError, match=r"last saw 503 .*database down"):
            wait_ready(f"http://127.0.0.1:{server.server_port}/", timeout=0.2, interval=0.05)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_process_that_exits_first_is_reported_with_its_code_and_log(tmp_path):
    log = tmp_path / "child.log"
    log.write_text("FATAL: no config\n")
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait(10)

    with pytest.raises(ServerStartError, match="exited with code 3") as err:
        wait_ready(lambda: False, timeout=5, process=process, log=log, what="the child")

    assert err.value.log_tail == "FATAL: no config"


def test_other_exceptions_of_a_check_are_bugs_and_propagate():
    def broken() -> bool:
        raise KeyError("typo")

    with pytest.raises(KeyError):
        wait_ready(broken, timeout=1)


def test_a_negative_timeout_or_a_zero_interval_is_a_bug_of_the_test():
    with pytest.raises(ValueError, match="must be >= 0"):
        wait_ready(lambda: True, timeout=-1)
    with pytest.raises(ValueError, match="interval 0 > 0"):
        wait_ready(lambda: True, timeout=1, interval=0)
