"""BalancerSettings: every knob reaches the balancer, from the constructor and the flags."""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import pytest

from millionscale.errors import ConfigError
from millionscale.lb import (
    FALL,
    INTER_S,
    KNOBS,
    Balancer,
    BalancerSettings,
    BudgetPolicy,
    HealthPolicy,
    InitState,
    OutlierPolicy,
    RetryPolicy,
)
from millionscale.lb.__main__ import main
from millionscale.lb.http import HttpLimits
from millionscale.lb.settings import add_flags, flags_of, from_flags

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lb.md"


def flags(*argv: str) -> BalancerSettings:
    parser = argparse.ArgumentParser()
    add_flags(parser)
    return from_flags(parser.parse_args(list(argv)))


def test_the_defaults_are_the_cores_own():
    settings = BalancerSettings()

    assert settings.health == HealthPolicy()
    assert (settings.health.inter_s, settings.health.fall) == (INTER_S, FALL)
    assert settings.outliers == OutlierPolicy()
    assert settings.retries == RetryPolicy()
    assert settings.budget == BudgetPolicy()
    assert settings.limits == HttpLimits()
    assert flags() == settings


def test_the_balancer_is_built_from_its_settings():
    settings = BalancerSettings(
        policy="round-robin",
        health=HealthPolicy(inter_s=0.5, rise=1),
        outliers=OutlierPolicy(consecutive_5xx=2),
        retries=RetryPolicy(max_attempts=1),
        budget=BudgetPolicy(ratio=0.5, min_per_s=0.0, ttl_s=5.0),
        connect_timeout_s=0.25,
        check_path="/health",
    )

    balancer = Balancer(settings)
    balancer.add("web-1", "127.0.0.1", 8001)

    assert balancer.policy.name == "round-robin"
    assert balancer.backends["web-1"].health.policy == settings.health
    assert balancer.outliers.policy == settings.outliers
    assert balancer.retries.policy == settings.retries
    assert balancer.retries.budget.percent == 0.5
    assert balancer.retries.budget.reserve == 0.0
    assert balancer.backends["web-1"].connect_timeout_s == 0.25
    assert balancer.settings is settings


def test_top_level_fields_can_be_given_as_keywords_and_an_unknown_one_is_refused():
    assert Balancer(policy="weighted").policy.name == "weighted"
    with pytest.raises(ConfigError, match="no balancer setting polcy"):
        Balancer(polcy="weighted")


def test_flags_reach_nested_knobs():
    settings = flags(
        "--policy", "least-outstanding", "--inter-s", "0.5", "--rise", "1", "--fall", "4",
        "--consecutive-5xx", "7", "--no-always-eject-one", "--max-attempts", "2",
        "--retry-status", "503", "--retry-status", "429", "--budget-ratio", "0.1",
        "--max-header-bytes", "8192", "--init-state", "fully-up", "--private-path", "/admin",
        "--shutdown-grace-s", "0",
    )  # fmt: skip

    assert settings.policy == "least-outstanding"
    assert (settings.health.inter_s, settings.health.rise, settings.health.fall) == (0.5, 1, 4)
    assert settings.outliers.consecutive_5xx == 7
    assert settings.outliers.always_eject_one is False
    assert settings.retries.max_attempts == 2
    assert settings.retries.statuses == frozenset({503, 429})
    assert settings.budget.ratio == 0.1
    assert settings.limits.max_header_bytes == 8192
    assert settings.init_state is InitState.FULLY_UP
    assert settings.private_paths == ("/admin",)
    assert settings.shutdown_grace_s == 0.0


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--inter-s", "0"], "--inter-s 0.0: must be above 0 to 86400"),
        (["--inter-s", "nan"], "--inter-s nan: must be finite"),
        (["--rise", "0"], "--rise 0: must be 1 to 1000"),
        (["--max-ejection-percent", "101"], "--max-ejection-percent 101.0: must be 0 to 100"),
        (["--retry-status", "200"], "--retry-status 200: must be 400 to 599"),
        (["--budget-ratio", "-0.1"], "--budget-ratio -0.1: must be 0 to 1"),
        (["--policy", "random"], "--policy 'random': must be one of: p2c-ewma"),
        (["--init-state", "sideways"], "--init-state 'sideways': must be one of"),
        (["--max-header-bytes", "10"], "--max-header-bytes 10: must be 1024 to"),
        (["--check-path", "readyz"], "--check-path 'readyz' is not a path"),
        (["--base-ejection-s", "60", "--max-ejection-s", "30"], "cannot be smaller"),
    ],
)
def test_a_knob_out_of_range_is_refused_naming_its_flag(argv, needle):
    with pytest.raises(ConfigError) as refused:
        flags(*argv)

    assert needle in refused.value.one_line()


@pytest.mark.parametrize(
    "change",
    [
        {"connect_timeout_s": -1.0},
        {"response_timeout_s": math.inf},
        {"pool_max_idle": -1},
        {"replay_bytes": 1.5},
        {"health": HealthPolicy(inter_s=math.nan)},
        {"limits": HttpLimits(header_timeout_s=0.0)},
    ],
)
def test_the_constructor_range_checks_alike(change):
    with pytest.raises(ConfigError):
        BalancerSettings(**change)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--inter-s", "-2"], "error: --inter-s -2.0: must be above 0"),
        (["--rise", "two"], "error: argument --rise: 'two' is not an integer"),
        (["--policy", "random"], "error: --policy 'random': must be one of"),
        (["--backend", "web-1=nowhere"], "error: backend 'web-1=nowhere' is not name=host:port"),
        (
            ["--backend", "web-1=127.0.0.1:8001", "--discovery", "file:/nonexistent"],
            "error: --discovery and --backend both name the backends",
        ),
        (["--discovery", "file:/nonexistent/x.json"], "error: cannot read discovery file"),
        (["--discovery", "zk:host"], "error: 'zk:host': unknown discovery scheme"),
    ],
)
def test_a_bad_flag_exits_2_with_one_line(argv, needle, capsys, monkeypatch):
    monkeypatch.setenv("LB_ADMIN_TOKEN", "t")

    try:
        code = main(["--port", "1", "--admin-port", "2", *argv])
    except SystemExit as exit_:
        code = int(exit_.code or 0)

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(needle), err
    assert err.count("\n") == 1


def test_every_knob_has_a_flag_and_a_row_in_docs_lb_md():
    text = DOCS.read_text()

    paths = [k.path for k in KNOBS]
    assert len(set(paths)) == len(paths)
    missing = [flag for flag in flags_of() if f"`{flag}" not in text]
    assert missing == []


def test_every_field_of_the_settings_and_their_records_is_a_knob():
    settings = BalancerSettings()
    fields = set()
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if dataclasses.is_dataclass(value):
            fields |= {f"{field.name}.{inner.name}" for inner in dataclasses.fields(value)}
        else:
            fields.add(field.name)

    assert fields - {"private_paths"} == {k.path for k in KNOBS}
