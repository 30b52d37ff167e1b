"""A step's formula text is what is evaluated: the printed formula cannot drift."""

import pytest

from millionscale.estimate.derivation import Derivation, Term, Unit, evaluate, names_in


def test_a_step_records_formula_terms_and_result():
    d = Derivation({"dau": (150e6, Unit.USERS), "writes_per_user": (2.0, Unit.PER_DAY)})

    value = d.step("writes_per_day", "writes per day", "dau * writes_per_user", Unit.PER_DAY)

    (step,) = d.steps
    assert value == step.value == 300e6
    assert step.terms == (
        Term("dau", 150e6, Unit.USERS),
        Term("writes_per_user", 2.0, Unit.PER_DAY),
    )
    assert step.symbolic() == "dau \N{MULTIPLICATION SIGN} writes_per_user"
    assert step.substituted(lambda t: f"{t.value:g}") == "1.5e+08 \N{MULTIPLICATION SIGN} 2"


def test_later_steps_use_earlier_ones():
    d = Derivation({"a": (3.0, Unit.RATIO)})
    d.step("b", "b", "a * 2", Unit.RATIO)

    assert d.step("c", "c", "b + a", Unit.RATIO) == 9.0


def test_ceil_ignores_float_noise_below_a_billionth():
    assert evaluate("ceil(x)", {"x": 2.0000000000004}) == 2.0
    assert evaluate("ceil(x)", {"x": 2.001}) == 3.0


def test_max_min_parentheses_and_minus():
    assert evaluate("max(a, b) * (1 - c)", {"a": 1.0, "b": 4.0, "c": 0.25}) == 3.0
    assert evaluate("min(a, b)", {"a": 1.0, "b": 4.0}) == 1.0


def test_names_are_listed_in_order_without_functions():
    assert names_in("ceil(max(b, a)) / b") == ("b", "a")


@pytest.mark.parametrize(
    "formula",
    [
        "__import__('os')",
        "a ** 2",
        "a if a else 0",
        "[a]",
        "open(a)",
        "True",
        "a.real",
    ],
)
def test_anything_outside_the_expression_language_is_refused(formula):
    with pytest.raises(ValueError, match=r"not allowed|booleans"):
        evaluate(formula, {"a": 1.0})


def test_an_unknown_name_is_refused():
    with pytest.raises(ValueError, match="unknown name 'nope'"):
        evaluate("nope * 2", {})


def test_a_step_name_cannot_be_derived_twice():
    d = Derivation({"a": (1.0, Unit.RATIO)})

    with pytest.raises(ValueError, match="already known"):
        d.step("a", "a", "a", Unit.RATIO)
