"""The facts command end to end on a small market, its options, and the table's verdicts."""

from __future__ import annotations

import json

import pytest

from experiments.facts.__main__ import config_from, main, parse_args
from experiments.facts.config import FactsConfig, quick_config
from experiments.facts.table import TARGETS, Target, table_rows, verdict
from market.validation import ConfigError

# a small, coarse market: the plumbing is under test here, not the market
SMALL = (
    "agents.background.n=150",
    "agents.liquidity.n=6",
    "agents.customers.n=10",
    "market.step_seconds=5",
    "market.record_interval=60",
)


def test_the_command_runs_end_to_end_and_writes_table_json_and_figures(tmp_path, capsys):
    out = tmp_path / "facts"
    code = main(
        [
            "--quick",
            "--seeds",
            "1001",
            "--days",
            "2",
            "--impact-seeds",
            "1001",
            "--sizes",
            "0.01",
            "0.05",
            "--workers",
            "1",
            "--out",
            str(out),
            *SMALL,
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "pass/miss" in printed and "seeds [1001] x 2 days" in printed
    result = json.loads((out / "facts.json").read_text())
    assert result["config"]["seeds"] == [1001] and result["config"]["days"] == 2
    assert [r["key"] for r in result["table"]] == [t.key for t in TARGETS]
    assert {r["verdict"] for r in result["table"]} <= {"pass", "miss", "info", "n/a"}
    facts = result["facts"]
    assert 0.0 <= facts["r2_30m"] <= 1.0
    assert facts["spread_median_ticks"] >= 1.0
    # common random numbers: with and without the order, the runs agree until it arrives
    assert facts["impact_pre_arrival_max"] == 0.0
    assert [r["q_over_v"] for r in result["impact_rows"]] == pytest.approx([0.01, 0.05], rel=1e-3)
    assert result["impact_runs"][0]["side"] == 1
    decay = result["impact_decay"]
    assert [d["after_s"] for d in decay] == FactsConfig().decay_after_s
    assert all(len(sizes) == len(decay) for sizes in result["impact_runs"][0]["decay"])
    assert "## Decay after completion" in (out / "facts.md").read_text()
    for name in ("facts.md", "abs_acf.png", "impact.png", "intraday.png"):
        assert (out / name).stat().st_size > 0
    header = "| fact | real range | simulated | pass/miss | source |"
    assert header in (out / "facts.md").read_text()


def test_options_replace_the_preset_and_overrides_pass_through():
    cfg = config_from(parse_args(["--quick", "--days", "5", "seed=3", "agents.dealers.n=0"]))
    assert cfg.days == 5 and cfg.seeds == quick_config().seeds
    assert cfg.overrides == ["seed=3", "agents.dealers.n=0"]
    default = config_from(parse_args([]))
    assert default.seeds == FactsConfig().seeds and min(default.seeds) > 1000


def test_config_ranges_name_the_field():
    with pytest.raises(ConfigError, match=r"facts.days must be in \[1, 250\]"):
        FactsConfig(days=0)
    with pytest.raises(ConfigError, match=r"facts.sizes\[1\]"):
        FactsConfig(sizes=[0.01, 0.0])
    with pytest.raises(ConfigError, match=r"facts\.seeds must list"):
        FactsConfig(seeds=[])
    with pytest.raises(ConfigError, match=r"facts\.start"):
        FactsConfig(start="17:00")


def test_a_bad_option_is_an_error_message_not_a_traceback(capsys):
    assert main(["--days", "0"]) == 2
    assert "facts.days" in capsys.readouterr().err


def test_verdicts_use_fixed_bounds_and_bounds_named_by_another_fact():
    ranged = Target("x", "x", "0.2–0.5", 0.2, 0.5, "{x}", "")
    assert verdict(ranged, {"x": 0.3}) == "pass"
    assert verdict(ranged, {"x": 0.6}) == "miss"
    assert verdict(ranged, {"x": None}) == "n/a"
    banded = Target("acf", "acf", "≈ 0", None, "band", "{acf}", "")
    assert verdict(banded, {"acf": 0.01, "band": 0.02}) == "pass"
    assert verdict(banded, {"acf": 0.03, "band": 0.02}) == "miss"
    info = Target("y", "y", "—", None, None, "{y}", "")
    assert verdict(info, {"y": 1.0}) == "info"


def test_a_row_whose_inputs_are_missing_shows_n_a():
    rows = {r["key"]: r for r in table_rows({"hill_5m": 3.0, "hill_5m_k": 100})}
    assert rows["hill_5m"]["simulated"] == "n/a"  # the standard error is missing
    assert rows["hill_5m"]["verdict"] == "pass"


def _sample(days: int, mid, fundamental, volume, **kw):
    """A reduced many-day run with only the series a test needs (no pauses, no dealers)."""
    import numpy as np

    from experiments.facts.runs import SeedSample

    base = {"spread_ticks": np.ones(3), "stop_pauses": 0, "luld_pauses": 0, "pop_volume": {}}
    base.update(notional=0.0, gex_abs_mean=0.0, **kw)
    return SeedSample(seed=0, days=days, mid=mid, fundamental=fundamental, volume=volume, **base)


def test_auction_shares_are_the_uncross_volumes_over_all_volume():
    import numpy as np

    from experiments.facts.measure import intraday_shape

    minutes = 2 * 390
    volume = np.full(minutes, 100.0)
    volume[389] += 3_000.0  # a closing uncross in the last minute of day 0
    flat = np.full(minutes + 1, 100.0)
    sample = _sample(2, flat, flat, volume, open_auction_volume=600, close_auction_volume=3_000)
    facts, _ = intraday_shape([sample])
    assert facts["close_auction_share"] == pytest.approx(3_000 / volume.sum())
    assert facts["open_auction_share"] == pytest.approx(600 / volume.sum())
    assert facts["u_volume_close"] > 1.0  # the uncross is in the last half hour's volume


def test_the_30_minute_split_finds_fs_part_and_the_rest():
    """A mid that is F plus an independent random walk: slope 1 on F, F's s.d. and the walk's
    s.d. come back as the two parts, and R² is F's share of the variance."""
    import numpy as np

    from experiments.facts.measure import price_and_fundamental

    rng = np.random.default_rng(0)
    minutes = 60 * 390
    log_f = np.concatenate(([0.0], np.cumsum(rng.normal(0.0, 0.0004, minutes))))
    log_rest = np.concatenate(([0.0], np.cumsum(rng.normal(0.0, 0.0008, minutes))))
    mid, fundamental = 100.0 * np.exp(log_f + log_rest), 100.0 * np.exp(log_f)
    sample = _sample(60, mid, fundamental, np.ones(minutes))
    facts = price_and_fundamental([sample])
    root30 = np.sqrt(30.0)
    assert facts["beta_30m"] == pytest.approx(1.0, abs=0.25)
    assert facts["f_sd_30m_bp"] == pytest.approx(4.0 * root30, rel=0.1)
    assert facts["rest_sd_30m_bp"] == pytest.approx(8.0 * root30, rel=0.1)
    assert facts["r2_30m"] == pytest.approx(0.2, abs=0.06)
