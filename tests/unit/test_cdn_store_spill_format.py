"""A spill file holds every field of the stored record and gives back exactly what was written."""

import dataclasses
import json
import struct
import zlib

import pytest

from millionscale.cdn.message import Stored
from millionscale.cdn.store import MAGIC, decode, encode

EVERY_FIELD_SET = Stored(
    key=b"Example.COM/caf\xc3\xa9?q=\xff",
    status=203,
    fields=((b"content-type", b"text/plain"), (b"x-odd", b"\x00\x80\xff tab\there")),
    body=bytes(range(256)) * 3,
    request_time=1_700_000_000.123456789,
    response_time=1_700_000_000.987654321,
    corrected_initial_age=12.5,
    freshness_lifetime=float("inf"),
    stale_while_revalidate=30.0,
    stale_if_error=86_400.0,
    must_revalidate=True,
    no_cache=True,
    vary=(b"accept-encoding", b"accept-language"),
    selecting=((b"accept-encoding", b"gzip"), (b"accept-language", b"")),
    tags=frozenset({b"photo-12", b"user-\xe9"}),
    invalidated=True,
)


def test_a_record_comes_back_equal_field_for_field():
    data = encode(EVERY_FIELD_SET)

    assert decode(data) == EVERY_FIELD_SET


def test_the_header_names_every_field_of_the_record_but_the_body():
    data = encode(EVERY_FIELD_SET)
    header_length = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    header = json.loads(data[len(MAGIC) + 16 : len(MAGIC) + 16 + header_length])

    names = {field.name for field in dataclasses.fields(Stored)} - {"body"}

    assert set(header) == names


@pytest.mark.parametrize(
    "data",
    [b"", MAGIC, b"not a spill file at all, not at all", MAGIC + b"\x00" * 16],
)
def test_what_is_not_a_spill_file_decodes_to_nothing(data):
    assert decode(data) is None


def test_a_well_framed_file_with_a_wrong_header_decodes_to_nothing():
    header = json.dumps({"key": 7}).encode()
    body = b""
    checksum = zlib.crc32(body, zlib.crc32(header))
    data = MAGIC + struct.pack(">IQI", len(header), len(body), checksum) + header + body

    assert decode(data) is None
