"""The estimate package's public names: what `from millionscale.estimate import ...` promises."""

import millionscale.estimate as estimate


def test_every_exported_name_exists():
    assert all(hasattr(estimate, name) for name in estimate.__all__)


def test_the_exported_names_are_these():
    assert set(estimate.__all__) == {
        "CAPACITY_FIELDS",
        "CLASSIC_LATENCIES",
        "FIELDS",
        "POWERS_OF_TWO",
        "TIERS",
        "Calibration",
        "Derivation",
        "Estimate",
        "InputField",
        "Inputs",
        "Kind",
        "LatencyFigure",
        "LatencyRow",
        "Measured",
        "PowerOfTwo",
        "Resource",
        "Scenario",
        "Source",
        "Step",
        "Term",
        "Unit",
        "UnitSystem",
        "calibration_from_json",
        "estimate",
        "estimate_json",
        "explain_lines",
        "format_count",
        "format_duration",
        "format_size",
        "latency_rows",
        "load_calibration",
        "load_scenario",
        "parse_count",
        "parse_duration",
        "parse_flags",
        "parse_fraction",
        "parse_scenario",
        "parse_size",
        "resolve_inputs",
    }
