"""The cgroup layer without a kernel: limits written where each version wants them,
accounting read back from each version's files, and which version a machine has."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.errors import ServerError
from millionscale.servers.cgroups import PERIOD_US, Cgroup, Limits, detect, parse_flat_keyed

MIB = 1024 * 1024


def _v1_root(tmp_path: Path) -> Path:
    for controller, files in {
        "cpu": ["cpu.cfs_quota_us"],
        "cpuacct": ["cpuacct.usage"],
        "memory": ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"],
    }.items():
        (tmp_path / controller).mkdir()
        for name in files:
            (tmp_path / controller / name).write_text("-1\n")
    return tmp_path


def _v2_root(tmp_path: Path) -> Path:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    return tmp_path


def test_v1_limits_go_to_the_cpu_and_memory_hierarchies(tmp_path: Path):
    root = _v1_root(tmp_path)
    group = Cgroup("web-1", Limits(cpus=0.25, memory_bytes=512 * MIB), version="v1", root=root)
    group.create()

    cpu = root / "cpu" / "millionscale" / "web-1"
    memory = root / "memory" / "millionscale" / "web-1"
    assert (cpu / "cpu.cfs_period_us").read_text() == f"{PERIOD_US}\n"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "50000\n"
    assert (memory / "memory.limit_in_bytes").read_text() == f"{512 * MIB}\n"
    assert group.procs_files == tuple(
        root / c / "millionscale" / "web-1" / "cgroup.procs" for c in ("cpu", "cpuacct", "memory")
    )


def test_v1_usage_is_read_from_cpuacct_cpu_stat_and_the_memory_files(tmp_path: Path):
    root = _v1_root(tmp_path)
    group = Cgroup("db", Limits(cpus=1, memory_bytes=64 * MIB), version="v1", root=root)
    group.create()
    base = {c: root / c / "millionscale" / "db" for c in ("cpu", "cpuacct", "memory")}
    (base["cpuacct"] / "cpuacct.usage").write_text("2500000000\n")
    (base["cpu"] / "cpu.stat").write_text(
        "nr_periods 40\nnr_throttled 30\nthrottled_time 1500000000\nnr_bursts 0\n"
    )
    (base["memory"] / "memory.usage_in_bytes").write_text(f"{10 * MIB}\n")
    (base["memory"] / "memory.max_usage_in_bytes").write_text(f"{64 * MIB}\n")
    (base["memory"] / "memory.oom_control").write_text(
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"
    )

    usage = group.usage()

    assert (usage.cpu_s, usage.periods, usage.throttled_periods, usage.throttled_s) == (
        2.5,
        40,
        30,
        1.5,
    )
    assert (usage.memory_bytes, usage.memory_peak_bytes, usage.oom_kills) == (10 * MIB, 64 * MIB, 2)


def test_v2_limits_and_usage_live_in_one_unified_group(tmp_path: Path):
    root = _v2_root(tmp_path)
    group = Cgroup("web-2", Limits(cpus=0.5, memory_bytes=256 * MIB), version="v2", root=root)
    group.create()
    unified = root / "millionscale" / "web-2"
    assert (unified / "cpu.max").read_text() == f"100000 {PERIOD_US}\n"
    assert (unified / "memory.max").read_text() == f"{256 * MIB}\n"
    assert (root / "cgroup.subtree_control").read_text() == "+cpu +memory\n"
    assert group.procs_files == (unified / "cgroup.procs",)

    (unified / "cpu.stat").write_text(
        "usage_usec 750000\nuser_usec 1\nsystem_usec 1\nnr_periods 9\nnr_throttled 4\nthrottled_usec 250000\n"
    )
    (unified / "memory.current").write_text("4096\n")
    (unified / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    usage = group.usage()
    assert (usage.cpu_s, usage.throttled_periods, usage.throttled_s) == (0.75, 4, 0.25)
    assert (usage.memory_bytes, usage.memory_peak_bytes, usage.oom_kills) == (4096, 0, 1)


def test_a_group_that_is_gone_is_a_clear_error(tmp_path: Path):
    group = Cgroup("gone", Limits(1, 64 * MIB), version="v1", root=_v1_root(tmp_path))
    with pytest.raises(ServerError, match="cannot read the accounting of cgroup gone"):
        group.usage()


def test_detect_names_the_version_whose_controllers_are_there(tmp_path: Path):
    for name in "abc":
        (tmp_path / name).mkdir()
    assert detect(_v1_root(tmp_path / "a")) == "v1"
    assert detect(_v2_root(tmp_path / "b")) == "v2"
    reason = detect(tmp_path / "c")
    assert reason not in ("v1", "v2")
    assert "cgroup cpu and memory controllers" in reason


@pytest.mark.parametrize(
    ("cpus", "memory", "wrong"),
    [
        (0, 64 * MIB, "cpus"),
        (0.001, 64 * MIB, "cpus"),
        (2000, 64 * MIB, "cpus"),
        (1, 1024, "memory"),
    ],
)
def test_limits_out_of_range_are_refused(cpus: float, memory: int, wrong: str):
    with pytest.raises(ValueError, match=wrong):
        Limits(cpus=cpus, memory_bytes=memory)


@pytest.mark.parametrize("name", ["", "a/b", ".hidden"])
def test_a_name_that_is_not_one_directory_is_refused(name: str, tmp_path: Path):
    with pytest.raises(ValueError, match="not a cgroup name"):
        Cgroup(name, Limits(1, 64 * MIB), version="v1", root=tmp_path)


@given(st.text(max_size=200))
def test_the_flat_keyed_parser_takes_any_text(text: str):
    values = parse_flat_keyed(text)
    assert all(isinstance(v, int) for v in values.values())


def test_the_flat_keyed_parser_skips_lines_that_are_not_key_value():
    assert parse_flat_keyed("a 1\nnonsense\nb x\n c 2\nd 3\n") == {"a": 1, "d": 3}
