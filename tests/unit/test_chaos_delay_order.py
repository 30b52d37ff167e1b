"""The delay line never reorders or drops bytes, whatever the faults and their changes."""

from chaos_factories import line, links, schedule_settings, schedules
from hypothesis import given
from hypothesis import strategies as st

from millionscale.chaos import Link


@schedule_settings
@given(link=links, schedule=schedules, seed=st.integers(0, 2**32))
def test_pieces_cover_each_chunk_exactly_and_leave_in_order(link, schedule, seed):
    delay_line = line(link, seed=seed)
    now, last = 1000.0, 1000.0
    for gap, size in schedule:
        now += gap
        pieces = delay_line.schedule(size, now)

        assert [p.start for p in pieces] == [0, *(p.end for p in pieces[:-1])]
        assert pieces[-1].end == size
        assert all(p.size <= (link.burst if link.bytes_per_s else size) for p in pieces)
        assert all(p.at >= last for p in pieces)
        assert [p.at for p in pieces] == sorted(p.at for p in pieces)
        last = pieces[-1].at
    assert delay_line.end(now) >= last


@schedule_settings
@given(
    before=links,
    after=links,
    schedule=schedules,
    change_at=st.integers(0, 40),
    seed=st.integers(0, 2**32),
)
def test_changing_the_faults_mid_stream_keeps_the_order(before, after, schedule, change_at, seed):
    delay_line = line(before, seed=seed)
    now, times = 1000.0, []
    for i, (gap, size) in enumerate(schedule):
        now += gap
        if i == change_at:
            delay_line.change(after, now)
        times += [p.at for p in delay_line.schedule(size, now)]

    assert times == sorted(times)


def test_a_short_delay_waits_behind_a_long_one():
    delay_line = line(Link(latency_s=0.1))
    first = delay_line.schedule(10, 1000.0)
    delay_line.change(Link(latency_s=0.0), 1000.0)

    second = delay_line.schedule(10, 1000.01)

    assert second[0].at == first[0].at == 1000.1


def test_statistics_count_chunks_bytes_and_stalls():
    delay_line = line(Link(stall_probability=1.0))
    delay_line.schedule(10, 1000.0)
    delay_line.schedule(5, 1000.0)

    stats = delay_line.statistics()

    assert (stats.chunks, stats.bytes, stats.stalls) == (2, 15, 2)
