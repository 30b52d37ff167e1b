"""A session's token: the last write's LSN as a string, kept across requests, only moving forward."""

import pytest

from millionscale.db import Session, parse_lsn
from millionscale.errors import DatabaseError


def test_a_session_that_never_wrote_has_an_empty_token():
    assert Session().token() == ""
    assert Session.from_token("").last_write_lsn is None


def test_the_token_is_the_last_write_lsn_and_round_trips():
    session = Session()
    session.record_write(parse_lsn("0/3000148"))

    assert session.token() == "0/3000148"
    assert Session.from_token(session.token()).last_write_lsn == parse_lsn("0/3000148")


def test_an_older_write_position_does_not_move_the_session_back():
    session = Session(parse_lsn("1/0"))

    session.record_write(parse_lsn("0/FFFF"))

    assert session.token() == "1/0"


def test_a_forged_or_corrupt_token_is_a_clear_error():
    with pytest.raises(DatabaseError, match="not a PostgreSQL LSN: 'admin'"):
        Session.from_token("admin")
