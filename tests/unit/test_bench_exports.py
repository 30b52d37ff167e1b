"""The bench package's public names: what `from millionscale.bench import ...` promises."""

import millionscale.bench as bench


def test_every_exported_name_exists():
    assert all(hasattr(bench, name) for name in bench.__all__)


def test_the_exported_names_are_these():
    assert set(bench.__all__) == {
        "DEFAULT_MIX",
        "DEFAULT_PASSWORD",
        "ERROR_KINDS",
        "OK",
        "CapacityPlan",
        "CapacityResult",
        "Dataset",
        "ErrorKind",
        "Latency",
        "Limits",
        "Mix",
        "Outcome",
        "Recorder",
        "Schedule",
        "Step",
        "Summary",
        "Window",
        "Workload",
        "bench_target",
        "find_capacity",
        "find_target_capacity",
        "generate",
        "parse_mix",
        "run_open_loop",
        "username",
    }
