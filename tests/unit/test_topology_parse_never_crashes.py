"""Whatever text it is given, parse_topology returns a Topology or raises TopologyError.

The command line turns a TopologyError into one line and exit code 2; any
other exception would be a traceback shown to a user for a typo.
"""

import json
import math
import tomllib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from millionscale.errors import TopologyError
from millionscale.topology.load import parse_topology
from millionscale.topology.model import Topology

EXAMPLES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Keys the model knows, so that generated documents reach deep into validation.
KNOWN_KEYS = [
    "topology", "processes", "name", "description", "stage", "tier", "datacenter", "role",
    "engine", "command", "env", "host", "port", "durable", "settings", "depends_on",
    "readiness", "restart", "policy", "max_restarts", "window_s", "backoff_initial_s",
    "backoff_max_s", "stop_timeout_s", "http", "tcp", "none", "timeout_s", "interval_s",
    "web", "db",
]  # fmt: skip
KNOWN_WORDS = [
    "postgres", "redis", "nats", "auto", "always", "never", "on-failure", "/readyz",
    "{python}", "{port}", "{name}", "{db.url}", "{web.port}", "{nope}", "web", "db", "",
]  # fmt: skip

keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=8))
scalars = st.one_of(
    st.sampled_from(KNOWN_WORDS),
    st.text(max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)


def _mostly(sensible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually (nine times in ten) a sensible value for the key, else anything at all."""
    return st.sampled_from(range(10)).flatmap(lambda n: values if n == 9 else sensible)


NAMES = ["web", "db", "cache", "api"]
process = st.fixed_dictionaries(
    {"tier": _mostly(st.sampled_from(["web", "db", "Web"]))},
    optional={
        "engine": _mostly(st.sampled_from(["postgres", "redis", "nats", "mysql"])),
        "command": _mostly(st.lists(st.sampled_from(KNOWN_WORDS), max_size=4)),
        "env": _mostly(
            st.dictionaries(st.sampled_from(["A", "B_URL"]), st.sampled_from(KNOWN_WORDS))
        ),
        "port": _mostly(st.one_of(st.just("auto"), st.integers(-1, 70000))),
        "depends_on": _mostly(st.lists(st.sampled_from([*NAMES, "nope"]), max_size=3)),
        "readiness": _mostly(
            st.dictionaries(
                st.sampled_from(["http", "tcp", "none", "timeout_s", "interval_s", "htp"]),
                st.one_of(
                    st.sampled_from(["/readyz", "readyz"]), st.booleans(), st.floats(-1, 100)
                ),
                max_size=3,
            )
        ),
        "restart": _mostly(
            st.dictionaries(
                st.sampled_from(["policy", "max_restarts", "window_s", "polcy"]),
                st.one_of(
                    st.sampled_from(["always", "never", "on-failure", "sometimes"]),
                    st.integers(-1, 2000),
                ),
                max_size=3,
            )
        ),
        "settings": _mostly(st.dictionaries(st.sampled_from(["max_connections"]), st.just("10"))),
        "nonsense": values,
    },
)
topologies = st.fixed_dictionaries(
    {
        "topology": _mostly(
            st.fixed_dictionaries(
                {"name": _mostly(st.sampled_from(["t", "single-server"]))},
                optional={"stage": _mostly(st.integers(-1, 9)), "nmae": values},
            )
        ),
        "processes": _mostly(
            st.dictionaries(
                _mostly(st.sampled_from(NAMES)).filter(lambda name: isinstance(name, str)),
                process,
                min_size=1,
                max_size=4,
            )
        ),
    }
)
# Shapeless documents test the first checks; topology-shaped ones (twice as
# often) get past them to the process checks and the model's own validators.
documents = st.one_of(st.dictionaries(keys, values, max_size=4), topologies, topologies)


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes, plus DEL, which TOML also wants escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{_string(k)} = {_value(v)}" for k, v in value.items()) + "}"


def to_toml(document: dict[str, Any]) -> str:
    """``document`` as TOML: one top-level key per line, everything below inline."""
    return "".join(f"{_string(key)} = {_value(value)}\n" for key, value in document.items())


def _parse_or_topology_error(text: str) -> Topology | TopologyError:
    try:
        return parse_topology(text, "fuzz.toml")
    except TopologyError as error:
        return error


@EXAMPLES
@given(st.text())
def test_arbitrary_text_gives_a_topology_or_a_topology_error(text):
    outcome = _parse_or_topology_error(text)

    assert isinstance(outcome, Topology | TopologyError)


@EXAMPLES
@given(documents)
def test_arbitrary_toml_documents_give_a_topology_or_a_topology_error(document):
    outcome = _parse_or_topology_error(to_toml(document))

    assert isinstance(outcome, Topology | TopologyError)
    # The documents are valid TOML, so they test validation, not the TOML parser.
    assert "not valid TOML" not in str(outcome)


@EXAMPLES
@given(documents)
def test_every_topology_error_names_the_source_and_carries_a_hint(document):
    outcome = _parse_or_topology_error(to_toml(document))

    if isinstance(outcome, TopologyError):
        assert outcome.message.startswith("fuzz.toml")
        assert outcome.hint


def test_the_toml_writer_of_these_tests_round_trips_through_tomllib():
    document = {"a b": {"x\x7f": [1, -2.5, math.inf, True, 'q"\\\n']}, "": {}, "n": "{db.url}"}

    assert tomllib.loads(to_toml(document)) == document
