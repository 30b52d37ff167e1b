"""Published back-of-the-envelope estimates reproduce, to within their own rounding.

Each test states the source's assumptions as inputs and its results as the
expected figures; where the source rounds ("~3500"), the tolerance says how much.
"""

from pathlib import Path

import pytest

from millionscale.estimate import Inputs, estimate, load_scenario, resolve_inputs

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_xu_twitter_qps_and_storage():
    """Alex Xu, "System Design Interview - An Insider's Guide" (2020), chapter 2,
    "Example: Estimate Twitter QPS and storage requirements": 300 million MAU, 50%
    daily, 2 tweets per user per day, 10% with 1 MB of media, stored 5 years =>
    DAU 150 million, tweets QPS ~3500, peak ~7000, media 30 TB per day, ~55 PB in
    5 years.
    """
    inputs = Inputs(
        mau=300e6,
        daily_active_fraction=0.5,
        writes_per_user=2,
        peak_factor=2,
        media_fraction=0.1,
        media_size=1e6,
        retention=5 * 365 * 86_400,
    )

    result = estimate(inputs)

    assert result.value("dau") == 150e6
    assert result.value("write_qps") == pytest.approx(3500, rel=0.01)  # 3,472 "~3500"
    assert result.value("write_qps_peak") == pytest.approx(7000, rel=0.01)  # 6,944 "~7000"
    assert result.value("media_per_day") == pytest.approx(30e12)  # "30 TB per day"
    assert result.value("media_retention") == pytest.approx(55e15, rel=0.01)  # 54.75 "~55 PB"


def test_xu_twitter_from_the_scenario_file():
    """The same example, read from scenarios/twitter.toml (Xu 2020, ch. 2)."""
    result = estimate(resolve_inputs(load_scenario(SCENARIOS / "twitter.toml"), {}).inputs)

    assert result.value("dau") == 150e6
    assert result.value("write_qps") == pytest.approx(3472.2, abs=0.1)
    assert result.value("media_per_day") == pytest.approx(30e12)
    assert result.value("media_retention") == pytest.approx(54.75e15)


def test_grokking_tinyurl_traffic_storage_bandwidth_and_cache():
    """Grokking the System Design Interview (Design Gurus / Educative), "Designing a
    URL Shortening service like TinyURL": 500M new URLs a month, 100:1 reads to
    writes, 500 bytes each, 5 years => ~200 URLs/s, ~20K redirects/s, 15 TB,
    ~100 KB/s in, ~10 MB/s out, ~170 GB of cache (20% of ~1.7 billion daily reads).
    The source uses 30-day months (5 years = 60 months); we use 365-day years,
    1.4% more.
    """
    inputs = Inputs(
        dau=500e6 / 30,
        writes_per_user=1,
        reads_per_write=100,
        text_size=500,
        retention=5 * 365 * 86_400,
        cache_hot_fraction=0.2,
    )

    result = estimate(inputs)

    assert result.value("write_qps") == pytest.approx(200, rel=0.04)  # 192.9 "~200"
    assert result.value("read_qps") == pytest.approx(20_000, rel=0.04)  # 19,290 "20K"
    assert result.value("storage_retention") == pytest.approx(15e12, rel=0.015)  # 15.2 TB
    assert result.value("ingress") == pytest.approx(100e3, rel=0.04)  # 96.5 KB/s
    assert result.value("egress") == pytest.approx(10e6, rel=0.04)  # 9.6 MB/s
    assert result.value("reads_per_day") == pytest.approx(1.7e9, rel=0.02)  # 1.667 billion
    assert result.value("cache_memory") == pytest.approx(170e9, rel=0.02)  # 166.7 GB


def test_grokking_messenger_storage_and_bandwidth():
    """Grokking the System Design Interview, "Designing Facebook Messenger": 500M
    DAU sending 40 messages a day of 100 bytes, kept 5 years => 20 billion
    messages a day, 2 TB a day, 3.6 PB in 5 years, 25 MB/s in and the same out.
    The source rounds 2 TB / 86,400 s = 23.1 MB/s up to "~25 MB/s".
    """
    result = estimate(resolve_inputs(load_scenario(SCENARIOS / "chat.toml"), {}).inputs)

    assert result.value("writes_per_day") == 20e9
    assert result.value("storage_per_day") == pytest.approx(2e12)
    assert result.value("storage_retention") == pytest.approx(3.6e15, rel=0.02)  # 3.65 PB
    assert result.value("ingress") == pytest.approx(25e6, rel=0.08)  # 23.1 MB/s
    assert result.value("egress") == result.value("ingress")


def test_grokking_instagram_photo_storage():
    """Grokking the System Design Interview, "Designing Instagram": 1M daily users
    posting 2M photos a day of 200 KB => 400 GB a day, "1425 TB" in 10 years
    (the source's 400 GB * 3,650 = 1,460 TB, divided once by 1,024).
    """
    result = estimate(resolve_inputs(load_scenario(SCENARIOS / "photos-1m.toml"), {}).inputs)

    assert result.value("writes_per_day") * result.inputs.media_fraction == pytest.approx(2e6)
    assert result.value("media_per_day") == pytest.approx(400e9)
    assert result.value("media_retention") == pytest.approx(1425e12, rel=0.03)  # 1,460 TB
