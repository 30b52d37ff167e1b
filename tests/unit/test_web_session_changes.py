"""A SessionChanges record checks its fields at construction and keeps read-only copies."""

import pytest

from millionscale.web import COUNTER_MAX, SessionChanges


def test_assignments_increments_and_removals_are_kept():
    changes = SessionChanges(assign={"theme": "dark"}, increment={"views": 2}, remove={"draft"})

    assert dict(changes.assign) == {"theme": "dark"}
    assert dict(changes.increment) == {"views": 2}
    assert changes.remove == frozenset({"draft"})


def test_the_record_does_not_follow_later_changes_to_the_mappings_it_was_given():
    assign = {"theme": "dark"}
    changes = SessionChanges(assign=assign)

    assign["theme"] = "light"

    assert changes.assign["theme"] == "dark"
    with pytest.raises(TypeError):
        changes.assign["theme"] = "light"  # type: ignore[index]


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "naïve", "new\nline"])
def test_a_bad_field_name_is_refused_naming_it(name):
    with pytest.raises(ValueError, match="session field name"):
        SessionChanges(assign={name: "v"})


def test_a_field_changed_twice_in_one_update_is_refused():
    with pytest.raises(ValueError, match="'n' is changed twice"):
        SessionChanges(assign={"n": "1"}, increment={"n": 1})


def test_a_value_over_4096_bytes_is_refused():
    with pytest.raises(ValueError, match="'note': value over 4096 bytes"):
        SessionChanges(assign={"note": "é" * 2049})


def test_a_value_that_is_not_a_string_is_refused():
    with pytest.raises(ValueError, match="'n': a value is a str, not int"):
        SessionChanges(assign={"n": 1})  # type: ignore[dict-item]


@pytest.mark.parametrize("amount", [COUNTER_MAX + 1, -COUNTER_MAX - 1, 1.5, True, "1"])
def test_an_increment_that_is_not_a_bounded_integer_is_refused(amount):
    with pytest.raises(ValueError, match="'n': increment"):
        SessionChanges(increment={"n": amount})


def test_the_largest_increments_are_allowed():
    changes = SessionChanges(increment={"up": COUNTER_MAX, "down": -COUNTER_MAX})

    assert changes.increment == {"up": COUNTER_MAX, "down": -COUNTER_MAX}
