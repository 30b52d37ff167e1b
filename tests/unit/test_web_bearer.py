"""Bearer credentials: the scheme in any case (RFC 9110 §11.1), the token exactly."""

import pytest

from millionscale.web.bearer import bearer_matches, bearer_token

TOKEN = "s3cret-token"


@pytest.mark.parametrize(
    "field",
    [
        f"Bearer {TOKEN}",
        f"bearer {TOKEN}",
        f"BEARER {TOKEN}",
        f"bEaReR {TOKEN}",
        f"Bearer   {TOKEN}",  # 1*SP
        f"  Bearer {TOKEN} ",  # whitespace around a field value is not part of it
        f"Bearer {TOKEN}".encode(),
    ],
)
def test_the_scheme_is_case_insensitive_and_the_token_is_found(field):
    assert bearer_token(field) == TOKEN.encode()
    assert bearer_matches(field, TOKEN)


@pytest.mark.parametrize(
    "field",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        TOKEN,
        f"Basic {TOKEN}",
        f"Bearerx {TOKEN}",
        f"Bearer {TOKEN} extra",
        f"Bearer {TOKEN.upper()}",  # the token itself is not case-insensitive
        f"Bearer {TOKEN}x",
        "Bearer wrong",
    ],
)
def test_anything_else_does_not_match(field):
    assert not bearer_matches(field, TOKEN)


def test_an_empty_expected_token_matches_nothing():
    assert not bearer_matches("Bearer ", "")
    assert not bearer_matches("Bearer x", "")


def test_non_ascii_bytes_are_refused_not_raised():
    assert not bearer_matches("Bearer tökén", TOKEN)
    assert not bearer_matches(b"Bearer \xff\xfe", TOKEN)
