"""The conformance suite runs against a real Varnish, and Varnish passes the cases it is known to pass.

Varnish 7.1 as :mod:`millionscale.cdn.peers` configures it (the builtin VCL,
stale-if-error as grace), in front of a :class:`ScriptedOrigin`. The cases
asserted here are behaviours of Varnish's own documented core (freshness from
max-age / s-maxage / Expires / Age, no-store, private, Vary, hit-for-miss) and
two it is known not to have (request Cache-Control is ignored; a POST does not
invalidate): the suite must tell both apart, not just run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from millionscale.cdn.peers import start_varnish
from millionscale.testing import ScriptedOrigin
from millionscale.testing.cdn_conformance import CASES, CaseResult, run_conformance, scripts

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("varnishd") is None and not Path("/usr/sbin/varnishd").exists(),
        reason="varnishd is not installed (python -m millionscale.servers.install --peers)",
    ),
]

KNOWN_PASSES = (
    "max-age",
    "max-age-expiry",
    "s-maxage-over-max-age-stale",
    "expires",
    "age-counts",
    "age-generated",
    "no-store",
    "private",
    "vary-variants",
    "vary-star",
    "authorization-not-shared",
    "stale-while-revalidate",
    "range-from-cache",
    "client-inm-304",
)
KNOWN_FAILURES = ("request-no-cache", "post-invalidates")


@pytest.fixture(scope="module")
def varnish_results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CaseResult]]:
    with ScriptedOrigin(scripts()) as origin:
        varnish = start_varnish("127.0.0.1", origin.port, tmp_path_factory.mktemp("varnish"))
        try:
            varnish.wait_ready()
            yield {result.name: result for result in run_conformance(varnish.url, origin)}
        finally:
            varnish.stop()


def test_every_case_has_a_result(varnish_results: dict[str, CaseResult]) -> None:
    assert list(varnish_results) == [case.name for case in CASES]


@pytest.mark.parametrize("name", KNOWN_PASSES)
def test_varnish_passes_what_its_core_implements(
    varnish_results: dict[str, CaseResult], name: str
) -> None:
    result = varnish_results[name]

    assert result.passed, result.reason


@pytest.mark.parametrize("name", KNOWN_FAILURES)
def test_the_suite_reports_what_varnish_does_not_do(
    varnish_results: dict[str, CaseResult], name: str
) -> None:
    result = varnish_results[name]

    assert not result.passed
    assert "the origin got 1 requests" in result.reason or "origin got 2 requests" in result.reason
