"""The public names of millionscale.testing are an exact list, and it never imports pytest."""

import subprocess
import sys

import millionscale.testing as testing


def test_the_exported_names_are_exactly_these():
    assert set(testing.__all__) == {
        "Answer",
        "Check",
        "FakeClock",
        "Metrics",
        "MetricsError",
        "Sample",
        "ScriptedOrigin",
        "Seen",
        "Spawned",
        "read_topology",
        "scrape",
        "served_answer",
        "spawn_module",
        "wait_ready",
    }
    assert all(hasattr(testing, name) for name in testing.__all__)


def test_importing_it_does_not_import_pytest():
    code = "import sys, millionscale.testing; print('pytest' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )

    assert result.stdout.strip() == "False", result.stderr
