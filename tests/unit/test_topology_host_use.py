"""What each host used between two readings of its figures: CPU seconds, cores, share of
its quota, throttled time; unlimited hosts and the first reading of one have no figure."""

from millionscale.topology.hosts import HostFigures, host_use


def _figures(name: str, cpu_s: float, cpu_used: float | None, throttled_s: float, *, limited=True):
    return HostFigures(
        name=name,
        cpus=0.25,
        cpu_used=cpu_used,
        cpu_s=cpu_s,
        throttled_s=throttled_s,
        throttled_periods=0,
        memory_bytes=0,
        memory_limit_bytes=2**30,
        oom_kills=0,
        limited=limited,
    )


def test_use_between_two_readings_is_per_host_and_against_its_quota():
    before = [_figures("web", 10.0, None, 1.0), _figures("db", 4.0, None, 0.0)]
    after = [_figures("web", 15.0, 0.25, 3.5), _figures("db", 5.0, 0.05, 0.0)]

    use = host_use(before, after)

    assert use == {
        "web": {"cpu_s": 5.0, "cores": 0.25, "quota_share": 1.0, "throttled_s": 2.5},
        "db": {"cpu_s": 1.0, "cores": 0.05, "quota_share": 0.2, "throttled_s": 0.0},
    }


def test_unlimited_new_and_unread_hosts_have_no_figure():
    before = [_figures("web", 0.0, None, 0.0), _figures("free", 0.0, None, 0.0, limited=False)]
    after = [
        _figures("web", 1.0, None, 0.0),  # its first reading: no rate yet
        _figures("free", 0.0, None, 0.0, limited=False),
        _figures("web-9", 1.0, 0.1, 0.0),  # joined between the readings
    ]

    assert host_use(before, after) == {}
