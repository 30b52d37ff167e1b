"""Every load and size grows linearly with users; server counts are the ceilings of
loads that do, so they never shrink as users grow."""

import math

from hypothesis import given
from hypothesis import strategies as st

from millionscale.estimate import Inputs, estimate
from millionscale.estimate.model import TIERS

LINEAR = (
    "writes_per_day",
    "write_qps",
    "write_qps_peak",
    "read_qps",
    "read_qps_peak",
    "qps_peak",
    "text_per_day",
    "media_per_day",
    "storage_per_day",
    "storage_retention",
    "storage_retention_replicated",
    "ingress",
    "egress",
    "cache_memory",
    "db_read_qps_peak",
    "jobs_peak",
    *(r.equivalents for r in TIERS),
)
SERVERS = ("web", "db_read_replicas", "shards", "cache_nodes", "workers")

users = st.floats(min_value=1, max_value=1e10, allow_nan=False)
factors = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)
fractions = st.floats(min_value=0, max_value=1)


def _inputs(dau, media_fraction=0.1, hit_ratio=0.8):
    return Inputs(
        dau=dau,
        writes_per_user=3,
        reads_per_write=20,
        media_fraction=media_fraction,
        media_size=500_000,
        cache_hit_ratio=hit_ratio,
    )


@given(users, factors, fractions, fractions)
def test_outputs_scale_linearly_with_users(dau, k, media_fraction, hit_ratio):
    one = estimate(_inputs(dau, media_fraction, hit_ratio))
    scaled = estimate(_inputs(dau * k, media_fraction, hit_ratio))

    for name in LINEAR:
        assert math.isclose(scaled.value(name), k * one.value(name), rel_tol=1e-9, abs_tol=1e-9)


@given(users, factors)
def test_servers_are_ceilings_of_linear_loads_and_grow_with_users(dau, k):
    one = estimate(_inputs(dau))
    more = estimate(_inputs(dau * (1 + k)))

    for name in SERVERS:
        assert more.value(name) >= one.value(name)
    assert one.value("web") == math.ceil(round(one.value("web_load"), 9))


@given(users, factors)
def test_the_tier_that_runs_out_first_does_not_depend_on_how_many_users(dau, k):
    assert estimate(_inputs(dau)).bottleneck == estimate(_inputs(dau * k)).bottleneck


@given(users)
def test_mau_times_the_daily_fraction_is_the_same_as_that_dau(mau):
    from_mau = estimate(Inputs(mau=mau, daily_active_fraction=0.25))
    from_dau = estimate(Inputs(dau=mau * 0.25))

    assert math.isclose(from_mau.value("qps_peak"), from_dau.value("qps_peak"), rel_tol=1e-12)
