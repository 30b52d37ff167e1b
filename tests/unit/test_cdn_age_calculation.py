"""RFC 9111 §4.2.3 (age calculation) and §5.1 (Age)."""

from cdn_factories import NOW, response, stored

from millionscale.cdn.construct import response_fields
from millionscale.cdn.freshness import corrected_initial_age


def test_the_formula_takes_the_larger_of_apparent_and_corrected_age():
    # §4.2.3: "corrected_initial_age = max(apparent_age, corrected_age_value)"
    apparent = corrected_initial_age(
        age=0.0, date=NOW - 30, request_time=NOW - 1, response_time=NOW
    )
    reported = corrected_initial_age(age=50.0, date=NOW, request_time=NOW - 2, response_time=NOW)

    assert apparent == 30.0
    assert reported == 52.0


def test_an_age_from_a_shield_is_counted():
    # §4.2.3: "corrected_age_value = age_value + response_delay"
    made = stored(response((b"cache-control", b"max-age=100"), (b"age", b"90")), delay=1.0)

    assert made.corrected_initial_age == 91.0
    assert made.age(NOW + 8) == 99.0


def test_a_clock_behind_makes_no_negative_age():
    # §4.2.3: "apparent_age = max(0, response_time - date_value)"
    made = stored(response((b"cache-control", b"max-age=100"), at=NOW + 3600))

    assert made.corrected_initial_age == 0.0


def test_an_invalid_age_is_ignored():
    # §5.1: "If the field value ... is invalid (e.g., it contains something other than a non-negative integer), a cache SHOULD ignore the field."
    made = stored(response((b"cache-control", b"max-age=100"), (b"age", b"-5")))

    assert made.corrected_initial_age == 0.0


def test_a_list_age_uses_its_first_member():
    # §5.1: "a cache encountering a message with a list-based Age field value SHOULD use the first member"
    made = stored(response((b"cache-control", b"max-age=100"), (b"age", b"7, 99")))

    assert made.corrected_initial_age == 7.0


def test_current_age_grows_with_resident_time():
    # §4.2.3: "resident_time = now - response_time; current_age = corrected_initial_age + resident_time;"
    made = stored(response((b"cache-control", b"max-age=100"), (b"age", b"10")))

    assert made.age(NOW + 5) == 15.0


def test_the_age_sent_replaces_the_stored_one():
    # §4: "a cache MUST generate an Age header field (Section 5.1), replacing any present in the response with a value equal to the stored response's current_age"
    made = stored(response((b"cache-control", b"max-age=100"), (b"age", b"10")))

    fields = response_fields(made, NOW + 5.7)

    assert [value for name, value in fields if name == b"age"] == [b"15"]
