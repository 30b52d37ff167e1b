"""A state table takes the moves it lists and refuses, by name, every other one."""

import itertools
from enum import Enum, StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millionscale.errors import IllegalTransition, MillionscaleBug, MillionscaleError
from millionscale.statetable import StateTable


class Door(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    LOCKED = "locked"
    BROKEN = "broken"


class Act(StrEnum):
    CLOSE = "close"
    OPEN = "open"
    LOCK = "lock"
    UNLOCK = "unlock"
    KICK = "kick"


MOVES: dict[tuple[Door, Act], Door | frozenset[Door]] = {
    (Door.OPEN, Act.CLOSE): Door.CLOSED,
    (Door.CLOSED, Act.OPEN): Door.OPEN,
    (Door.CLOSED, Act.LOCK): Door.LOCKED,
    (Door.LOCKED, Act.UNLOCK): Door.CLOSED,
    (Door.LOCKED, Act.KICK): frozenset({Door.LOCKED, Door.BROKEN}),  # the door decides
}


def door() -> StateTable[Door, Act]:
    return StateTable(MOVES, name="door")


@pytest.mark.parametrize(
    ("state", "event", "after"),
    [(s, e, a) for (s, e), a in MOVES.items() if isinstance(a, Door)],
)
def test_a_listed_move_with_one_outcome_leads_to_it(state, event, after):
    assert door().fire(state, event) is after


def test_an_unlisted_move_names_the_state_the_event_and_what_is_allowed():
    with pytest.raises(IllegalTransition) as raised:
        door().fire(Door.CLOSED, Act.CLOSE)

    assert (
        str(raised.value)
        == "door: no transition close from closed (allowed from closed: open, lock)"
    )
    assert raised.value.state is Door.CLOSED
    assert raised.value.event is Act.CLOSE
    assert raised.value.allowed == (Act.OPEN, Act.LOCK)


def test_a_state_with_no_way_out_says_so():
    with pytest.raises(IllegalTransition, match="no transition open from broken") as raised:
        door().fire(Door.BROKEN, Act.OPEN)

    assert "nothing is allowed from broken" in str(raised.value)
    assert raised.value.allowed == ()


def test_the_subject_names_the_machine_instead_of_the_table():
    with pytest.raises(IllegalTransition, match=r"^front door: no transition kick from open"):
        door().fire(Door.OPEN, Act.KICK, subject="front door")


def test_a_table_without_a_name_prefixes_nothing():
    table = StateTable(MOVES)

    with pytest.raises(IllegalTransition, match=r"^no transition kick from open "):
        table.fire(Door.OPEN, Act.KICK)


@pytest.mark.parametrize("after", [Door.LOCKED, Door.BROKEN])
def test_an_event_with_several_outcomes_takes_the_one_the_caller_names(after):
    assert door().fire(Door.LOCKED, Act.KICK, after) is after


def test_an_event_with_several_outcomes_and_none_named_raises():
    with pytest.raises(
        IllegalTransition, match="kick from locked leads to one of broken or locked"
    ):
        door().fire(Door.LOCKED, Act.KICK)


def test_an_outcome_the_table_does_not_list_for_the_pair_raises():
    with pytest.raises(
        IllegalTransition, match="lock from closed leads to locked, not open"
    ) as raised:
        door().fire(Door.CLOSED, Act.LOCK, Door.OPEN)

    assert raised.value.to is Door.OPEN


def test_naming_the_only_outcome_is_allowed():
    assert door().fire(Door.OPEN, Act.CLOSE, Door.CLOSED) is Door.CLOSED


def test_the_questions_a_machine_asks_before_it_acts():
    table = door()

    assert table.allows(Door.LOCKED, Act.KICK)
    assert not table.allows(Door.OPEN, Act.LOCK)
    assert table.allowed(Door.LOCKED) == (Act.UNLOCK, Act.KICK)
    assert table.allowed(Door.BROKEN) == ()
    assert table.outcomes(Door.LOCKED, Act.KICK) == {Door.LOCKED, Door.BROKEN}
    assert table.outcomes(Door.OPEN, Act.CLOSE) == {Door.CLOSED}
    with pytest.raises(IllegalTransition, match="no transition lock from open"):
        table.outcomes(Door.OPEN, Act.LOCK)


def test_the_table_is_a_copy_of_the_dict_it_was_built_from():
    moves = dict(MOVES)
    table = StateTable(moves)

    moves[Door.OPEN, Act.LOCK] = Door.LOCKED

    assert not table.allows(Door.OPEN, Act.LOCK)


def test_a_move_that_leads_nowhere_is_refused_when_the_table_is_built():
    with pytest.raises(MillionscaleBug, match="door: kick from open leads nowhere"):
        StateTable({(Door.OPEN, Act.KICK): frozenset()}, name="door")


def test_an_illegal_transition_is_a_bug_not_a_user_error():
    with pytest.raises(IllegalTransition) as raised:
        door().fire(Door.OPEN, Act.OPEN)

    assert isinstance(raised.value, MillionscaleBug)
    assert isinstance(raised.value, AssertionError)
    assert not isinstance(raised.value, MillionscaleError)


@given(st.lists(st.sampled_from(Act), max_size=30), st.booleans())
def test_a_walk_only_ever_takes_listed_moves(acts, breaks):
    table, state = door(), Door.OPEN
    for act in acts:
        before = state
        if not table.allows(state, act):
            with pytest.raises(IllegalTransition):
                table.fire(state, act)
            continue
        outcomes = table.outcomes(state, act)
        choice = Door.BROKEN if breaks and Door.BROKEN in outcomes else min(outcomes)

        state = table.fire(state, act, choice)

        assert state in outcomes
        assert (before, act) in MOVES


def test_allows_agrees_with_the_dict_for_every_pair():
    table = door()

    for state, act in itertools.product(Door, Act):
        assert table.allows(state, act) == ((state, act) in MOVES)


class Light(Enum):
    ON = "on"
    OFF = "off"


def test_plain_enum_members_read_by_their_value():
    table = StateTable({(Light.OFF, "switch"): Light.ON}, name="light")

    with pytest.raises(IllegalTransition, match=r"^light: no transition switch from on \("):
        table.fire(Light.ON, "switch")
