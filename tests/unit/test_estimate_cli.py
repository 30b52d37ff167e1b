"""`millionscale estimate` on the command line: JSON, explanation, tables, and bad
input as one line on stderr with exit code 2 (run in-process, no subprocess)."""

import json
from pathlib import Path

import pytest

from millionscale import cli

ROOT = Path(__file__).resolve().parents[2]
TWITTER = str(ROOT / "scenarios" / "twitter.toml")
PHOTOS = str(ROOT / "scenarios" / "photos-1m.toml")
RESULTS = str(ROOT / "bench" / "results" / "photos_capacity.json")


@pytest.fixture
def run(monkeypatch, capsys):
    """Run the CLI with these arguments; return (exit code, stdout, stderr)."""

    def call(*args):
        monkeypatch.setattr("sys.argv", ["millionscale", "estimate", *args])
        monkeypatch.setenv("COLUMNS", "200")
        with pytest.raises(SystemExit) as exited:
            cli.main()
        out, err = capsys.readouterr()
        return exited.value.code, out, err

    return call


def test_json_of_a_scenario(run):
    code, out, err = run(TWITTER, "--json")

    data = json.loads(out)
    assert (code, err) == (0, "")
    assert data["scenario"] == "twitter"
    assert data["dau"] == 150_000_000
    assert data["storage"]["media_per_day_bytes"] == 30_000_000_000_000


def test_flags_override_the_scenario(run):
    code, out, _ = run(TWITTER, "--json", "--dau", "15M", "--media-fraction", "0")

    data = json.loads(out)
    assert code == 0
    assert data["dau"] == 15_000_000
    assert data["storage"]["media_per_day_bytes"] == 0
    assert data["input_origin"]["dau"] == "flag"


def test_no_scenario_needs_users(run):
    code, out, _ = run("--dau", "1M", "--json")

    assert code == 0
    assert json.loads(out)["qps"]["write"] == pytest.approx(1e6 * 2 / 86_400)


def test_explain_prints_the_derivation(run):
    code, out, _ = run(TWITTER, "--explain")

    assert code == 0
    assert "  dau = mau \N{MULTIPLICATION SIGN} daily_active_fraction" in out
    assert "= 30,000,000,000,000 B  (30 TB)" in out
    assert "runs out first: " in out


def test_binary_units_change_the_display_not_the_numbers(run):
    _, decimal, _ = run(TWITTER, "--explain")
    _, binary, _ = run(TWITTER, "--explain", "--binary")

    assert "(30 TB)" in decimal
    assert "(27.28 TiB)" in binary
    assert "= 30,000,000,000,000 B" in binary


def test_tables_by_default(run):
    code, out, _ = run(TWITTER)

    assert code == 0
    for title in ("inputs", "traffic", "storage", "bandwidth", "cache", "servers at peak"):
        assert title in out
    assert "every per-node capacity is assumed" in out


def test_calibrated_photos_say_what_was_measured(run):
    code, out, _ = run(PHOTOS, "--calibrate", RESULTS)

    assert code == 0
    assert "capacity measured here: web servers; assumed: " in out
    assert "web_rps: measured here: " in out


def test_calibrated_json_marks_the_web_tier_measured(run):
    _, out, _ = run(PHOTOS, "--calibrate", RESULTS, "--json")

    tiers = {t["tier"]: t for t in json.loads(out)["tiers"]}
    assert tiers["web"]["capacity"] == "measured here"
    assert tiers["db_read_replicas"]["capacity"] == "assumed"


def test_the_latency_table(run):
    code, out, _ = run("latency")

    assert code == 0
    assert "L1 cache reference" in out
    assert "0.5 ns" in out
    assert "dean-2009" in out
    assert "2^50" in out


def test_the_latency_table_as_json(run):
    _, out, _ = run("latency", "--json")

    data = json.loads(out)
    assert data["classic"][0]["operation"] == "L1 cache reference"
    assert data["measured"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--dau", "-5"), "--dau: must be greater than 0, got -5", id="negative"),
        pytest.param(("--dau", "0"), "--dau: must be greater than 0, got 0", id="zero"),
        pytest.param(
            ("--dau", "1M", "--media-fraction", "1.5"), "--media-fraction: '1.5' is outside", id="f"
        ),
        pytest.param(
            ("--dau", "1M", "--media-size", "5 parsecs"), "--media-size: unknown size unit", id="u"
        ),
        pytest.param((), "nothing to estimate", id="nothing"),
        pytest.param(("nope.toml",), "scenario file nope.toml does not exist", id="no-file"),
        pytest.param(("--dau", "1M", "--measure"), "--measure: only with 'latency'", id="measure"),
        pytest.param(("latency", "--dau", "1M"), "--dau: not options of", id="latency-flags"),
        pytest.param(
            ("--dau", "1M", "--calibrate", "nope.json"), "calibration file nope.json", id="calib"
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(run, args, message):
    code, out, err = run(*args)

    assert code == 2
    assert out == ""
    assert err.startswith(f"error: {message}")
    assert err.count("\n") == 1
    assert "(" in err  # the hint


def test_a_malformed_scenario_is_one_line_with_file_and_line(run, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[users]\ndau = "1M"\n[storage]\nmedia_size = "5 parsecs"\n')

    code, _, err = run(str(path))

    assert code == 2
    assert err.startswith(f"error: {path}:4: storage.media_size: unknown size unit 'parsecs'")
    assert "accepted: a size such as" in err
