"""--explain and --json come from the same steps: every final number of the
explanation is the number the JSON holds for that figure."""

import json
import math
import re

from hypothesis import given
from hypothesis import strategies as st

from millionscale.estimate import Inputs, estimate, estimate_json, explain_lines
from millionscale.estimate.render import JSON_LAYOUT
from millionscale.estimate.units import UnitSystem

# A step as explain_lines prints it: "  name = formula", "  = numbers", "  = result unit".
STEP = re.compile(
    r"^  (?P<name>\w+) = .*\n\s+= .*\n\s+= (?P<value>-?[\d,]+(?:\.\d+)?)", re.MULTILINE
)


def _explained(result, system=UnitSystem.DECIMAL):
    text = "\n".join(explain_lines(result, system))
    return {m["name"]: float(m["value"].replace(",", "")) for m in STEP.finditer(text)}


def _twitter():
    return estimate(
        Inputs(
            mau=300e6,
            daily_active_fraction=0.5,
            writes_per_user=2,
            reads_per_write=50,
            text_size=204,
            media_fraction=0.1,
            media_size=1e6,
        )
    )


def test_every_step_is_explained_once():
    result = _twitter()

    assert list(_explained(result)) == [s.name for s in result.steps]


def test_the_explanation_shows_formula_numbers_and_result():
    lines = explain_lines(_twitter())

    at = lines.index("write QPS, average")
    assert lines[at + 1] == "  write_qps = writes_per_day \N{DIVISION SIGN} seconds_per_day"
    assert lines[at + 2].split("= ", 1)[1] == "300M \N{DIVISION SIGN} 86,400 s"
    assert lines[at + 3].split("= ", 1)[1] == "3,472.22 req/s"


def test_the_explained_results_equal_the_json_sections():
    result = _twitter()
    explained = _explained(result)

    data = json.loads(json.dumps(estimate_json(result)))

    for section, keys in JSON_LAYOUT.items():
        for key, step in keys.items():
            assert math.isclose(explained[step], data[section][key], rel_tol=5e-6), (section, key)
    assert explained["dau"] == data["dau"] == 150e6


@given(
    dau=st.floats(min_value=1, max_value=1e10),
    writes=st.floats(min_value=0.01, max_value=1000),
    reads=st.floats(min_value=0, max_value=1000),
    media=st.floats(min_value=0, max_value=1),
    system=st.sampled_from(UnitSystem),
)
def test_for_any_inputs_the_explanation_and_the_json_agree(dau, writes, reads, media, system):
    result = estimate(
        Inputs(dau=dau, writes_per_user=writes, reads_per_write=reads, media_fraction=media)
    )
    explained = _explained(result, system)

    data = estimate_json(result, system)

    derivation = {d["name"]: d["value"] for d in data["derivation"]}
    assert explained.keys() == derivation.keys()
    for name, value in derivation.items():
        assert math.isclose(explained[name], value, rel_tol=5e-6, abs_tol=1e-9), name


def test_the_json_has_the_promised_keys():
    data = estimate_json(_twitter())

    assert {"dau", "qps", "storage", "bandwidth", "cache", "servers"} <= data.keys()
    assert {"write", "write_peak", "read", "read_peak"} <= data["qps"].keys()
    assert {
        "text_per_day_bytes",
        "media_per_day_bytes",
        "total_per_day_bytes",
        "total_retention_bytes",
        "total_retention_replicated_bytes",
    } <= data["storage"].keys()
    assert {"ingress_bytes_per_s", "egress_bytes_per_s"} <= data["bandwidth"].keys()
    assert "memory_bytes" in data["cache"]
    assert data["servers"].keys() == {"web", "db_read_replicas", "shards", "cache_nodes", "workers"}
    assert all(isinstance(n, int) for n in data["servers"].values())
