"""The wide-area link's switch: where each frame goes (IEEE 802.1D's learning and
flooding, as a Linux bridge does it) and when (the link's delay, never reordering
frames between two sites)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.chaos.faults import Link
from millionscale.chaos.wan import AGEING_S, WanSwitch
from millionscale.errors import ConfigError

BROADCAST = b"\xff" * 6
A, B, C = (bytes([0x02, 0, 0, 0, 0, n]) for n in (1, 2, 3))  # locally administered unicast


def frame(destination: bytes, source: bytes, payload: bytes = b"\x08\x00" + b"x" * 46) -> bytes:
    return destination + source + payload


def switch(*ports: str, latency_s: float = 0.010, jitter_s: float = 0.0) -> WanSwitch:
    return WanSwitch(ports, Link(latency_s=latency_s, jitter_s=jitter_s), random.Random(7))


def test_a_broadcast_goes_to_every_other_site_after_the_latency():
    wan = switch("east", "west", "witness")

    out = wan.frame("east", frame(BROADCAST, A), now=100.0)

    assert [c.port for c in out] == ["west", "witness"]
    assert [c.at for c in out] == pytest.approx([100.010, 100.010])


def test_a_learnt_address_gets_its_frames_at_its_site_only():
    wan = switch("east", "west", "witness")
    wan.frame("west", frame(BROADCAST, B), now=0.0)  # B answers ARP from the west

    out = wan.frame("east", frame(B, A), now=1.0)

    assert [c.port for c in out] == ["west"]


def test_an_unknown_address_is_flooded_and_a_frame_never_goes_back_where_it_came_from():
    wan = switch("east", "west", "witness")

    assert [c.port for c in wan.frame("east", frame(C, A), now=0.0)] == ["west", "witness"]
    wan.frame("east", frame(BROADCAST, C), now=0.1)  # C turns out to be in the east too
    assert wan.frame("east", frame(C, A), now=0.2) == []  # the east's own bridge delivers it
    assert wan.dropped == 1


def test_what_it_learnt_is_forgotten_after_the_ageing_time():
    wan = switch("east", "west", "witness")
    wan.frame("west", frame(BROADCAST, B), now=0.0)

    assert [c.port for c in wan.frame("east", frame(B, A), now=AGEING_S)] == ["west"]
    later = wan.frame("east", frame(B, A), now=AGEING_S + 1.0)
    assert [c.port for c in later] == ["west", "witness"]  # flooded again, as a bridge does


def test_a_multicast_source_is_never_learnt_and_a_runt_is_dropped():
    wan = switch("east", "west")
    wan.frame("east", frame(BROADCAST, b"\x01\x00\x5e\x00\x00\x01"), now=0.0)

    assert wan.learnt == {}
    assert wan.frame("east", b"\x00" * 13, now=0.0) == []
    assert wan.frame("nowhere", frame(BROADCAST, A), now=0.0) == []


@pytest.mark.parametrize("ports", [("east",), ("east", "east"), ()])
def test_a_link_joins_two_or_more_distinct_sites(ports):
    with pytest.raises(ConfigError, match="two or more distinct ports"):
        WanSwitch(ports, Link())


@given(
    arrivals=st.lists(
        st.tuples(st.sampled_from(["east", "west"]), st.floats(0, 0.05)), min_size=1, max_size=60
    ),
    seed=st.integers(0, 2**32),
)
def test_frames_between_two_sites_leave_in_order_never_before_the_least_delay(arrivals, seed):
    link = Link(latency_s=0.010, jitter_s=0.008)
    wan = WanSwitch(("east", "west"), link, random.Random(seed))
    now, last = 0.0, {"east": 0.0, "west": 0.0}
    for port, gap in arrivals:
        now += gap
        (crossing,) = wan.frame(port, frame(BROADCAST, A if port == "east" else B), now)
        assert crossing.at >= now + link.min_delay_s
        assert crossing.at >= last[crossing.port]  # never reordered on one pair
        assert crossing.at <= max(last[crossing.port], now + link.max_delay_s)
        last[crossing.port] = crossing.at
