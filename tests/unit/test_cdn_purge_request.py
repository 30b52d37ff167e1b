"""What a purge names, and the JSON an edge's admin API gets for it."""

import pytest

from millionscale.cdn.purge import Purge
from millionscale.errors import ConfigError


def test_a_tag_purge_sends_the_tag_whether_soft_and_when_it_was_issued():
    purge = Purge.tag("photo-12")

    body = purge.body(issued_at=1_700_000_000.5)

    assert body == {"tag": "photo-12", "soft": False, "issued_at": 1_700_000_000.5}


def test_a_soft_prefix_purge_says_so():
    purge = Purge.prefix("/static/", soft=True)

    assert purge.body(issued_at=1.0) == {"prefix": "/static/", "soft": True, "issued_at": 1.0}
    assert purge.describe() == "soft purge of prefix /static/"


def test_a_url_purge_names_the_path():
    assert Purge.url("/media/1/ab/ab12.jpg").describe() == "purge of url /media/1/ab/ab12.jpg"


def test_a_url_purge_may_name_one_host():
    assert Purge.url("http://photos/p/1").describe() == "purge of url http://photos/p/1"


def test_a_purge_of_everything_names_no_value():
    assert Purge.everything(soft=True).describe() == "soft purge of everything"


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("tag", "", "1 to 8192 bytes"),
        ("tag", "x" * 8193, "1 to 8192 bytes"),
        ("tag", "two words", "a tag has no spaces"),
        ("tag", "bad\nline", "control characters"),
        ("url", "media/1.jpg", "is not a path"),
        ("prefix", "static", "is not a path"),
        ("url", "/\u00e9", "must be ASCII"),
        ("all", "/", "names no value"),
        ("everything", "/", "not a kind of purge"),
    ],
)
def test_what_cannot_be_purged_is_refused_saying_why(kind, value, reason):
    with pytest.raises(ConfigError, match=reason):
        Purge(kind, value)
