"""The L2 envelope: what the tier writes it reads back; anything else is CorruptEnvelope."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.cache.envelope import HEADER_BYTES, MAX_FIELD_MS, CorruptEnvelope, Envelope


@given(
    payload=st.one_of(st.none(), st.binary(max_size=64)),
    load_ms=st.integers(0, MAX_FIELD_MS),
    stale_ms=st.integers(0, MAX_FIELD_MS),
)
def test_every_envelope_decodes_to_itself(payload, load_ms, stale_ms):
    envelope = Envelope(payload, load_ms, stale_ms)

    assert Envelope.decode(envelope.encode()) == envelope


@given(st.binary(max_size=40))
def test_any_bytes_are_an_envelope_that_encodes_back_to_them_or_corrupt(data):
    try:
        envelope = Envelope.decode(data)
    except CorruptEnvelope:
        return
    assert envelope.encode() == data


def test_an_absence_is_the_header_alone():
    data = Envelope(None, 5, 0).encode()

    assert len(data) == HEADER_BYTES
    assert Envelope.decode(data).absent


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"garbage", "shorter than the 12-byte header"),
        (b"{" + bytes(20), "is not"),
        (b"ms\x02" + bytes(9), "is not b'ms\\x01'"),
        (b"ms\x01\x07" + bytes(8), "kind 7"),
        (Envelope(None).encode() + b"x", "kind 1 with 1 bytes of payload"),
    ],
)
def test_foreign_bytes_are_corrupt_with_a_reason(data, reason):
    with pytest.raises(CorruptEnvelope, match=reason.replace("\\", "\\\\").replace("{", "\\{")):
        Envelope.decode(data)


@pytest.mark.parametrize("field", ["load_ms", "stale_ms"])
def test_times_must_fit_the_header(field):
    with pytest.raises(ValueError, match=field):
        Envelope(b"", **{field: MAX_FIELD_MS + 1})
