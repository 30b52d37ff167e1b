"""The conformance suite's cases are well-formed data, and its checks say what failed."""

from __future__ import annotations

import email.utils

from millionscale.testing import Seen, served_answer
from millionscale.testing._origin import expand_dates
from millionscale.testing.cdn_conformance import CASES, Expect, Reply, Send, Wait, _check


def _seen(count: int, **fields: str) -> list[Seen]:
    headers = tuple(fields.items())
    return [Seen("case", n, "GET", "/c/case/", headers, 0.0) for n in range(1, count + 1)]


def test_every_case_names_its_section_level_and_requirement():
    names = [case.name for case in CASES]

    assert len(names) == len(set(names))
    assert 40 <= len(CASES) <= 80
    assert all(case.section.startswith("RFC ") for case in CASES)
    assert all(case.level in ("MUST", "SHOULD", "MAY") for case in CASES)
    assert all(len(case.requirement) > 40 for case in CASES)
    assert all(any(isinstance(step, Send) for step in case.steps) for case in CASES)


def test_the_suite_sleeps_a_few_seconds_at_most_per_case():
    longest = max(sum(s.seconds for s in c.steps if isinstance(s, Wait)) for c in CASES)

    assert longest <= 5.0


def test_a_default_body_says_which_answer_it_is():
    assert served_answer(b"answer 3 of vary-star") == 3
    assert served_answer(b"something else") is None


def test_dates_are_expanded_relative_to_now():
    now = 1_700_000_000.0

    expanded = expand_dates("{date+2}", now)

    assert email.utils.parsedate_to_datetime(expanded).timestamp() == now + 2


def test_a_wrong_status_is_the_reason():
    reply = Reply(200, (), b"answer 1 of case")

    reason = _check(Expect(status=504), reply, _seen(1))

    assert reason == "status 200, expected 504"


def test_an_extra_origin_request_is_the_reason():
    reply = Reply(200, (), b"answer 1 of case")

    reason = _check(Expect(origin=1, served=1), reply, _seen(2))

    assert reason == "the origin got 2 requests, expected 1"


def test_the_origin_request_must_carry_the_validator():
    reply = Reply(200, (), b"answer 1 of case")

    passed = _check(
        Expect(origin_saw=(("if-none-match", '"v1"'),)),
        reply,
        _seen(2, **{"if-none-match": '"v1"'}),
    )
    failed = _check(Expect(origin_saw=(("if-none-match", '"v1"'),)), reply, _seen(2))

    assert passed == ""
    assert "if-none-match: None" in failed
