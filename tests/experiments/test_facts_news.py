"""The news experiment of the facts command: configuration, summary rows, and one paired seed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from experiments.facts.__main__ import config_from, parse_args
from experiments.facts.config import FactsConfig, quick_config
from experiments.facts.impact import run_paired
from experiments.facts.news import (
    NewsRun,
    news_facts,
    news_rows,
    news_sign,
    run_news_pair,
    run_seed_pairs,
)
from experiments.facts.study import news_lines
from experiments.facts.table import table_rows
from market.validation import ConfigError

# the same small, coarse market as the facts command's end-to-end test
SMALL = [
    "agents.background.n=150",
    "agents.liquidity.n=6",
    "agents.customers.n=10",
    "market.step_seconds=5",
    "market.record_interval=60",
]


def test_news_config_defaults_and_ranges_name_the_field():
    cfg = FactsConfig()
    assert cfg.news_size == 0.03 and cfg.news_horizons_s == [60.0, 300.0, 1800.0, 3600.0]
    assert quick_config().news_size == cfg.news_size
    assert quick_config().news_horizons_s == cfg.news_horizons_s
    with pytest.raises(ConfigError, match=r"facts\.news_size must be in \(0\.0, 0\.3\]"):
        FactsConfig(news_size=0.0)
    with pytest.raises(ConfigError, match=r"facts\.news_size"):
        FactsConfig(news_size=0.5)
    with pytest.raises(ConfigError, match=r"facts\.news_horizons_s\[1\]"):
        FactsConfig(news_horizons_s=[60.0, 0.0])
    with pytest.raises(ConfigError, match=r"facts\.news_horizons_s\[0\]"):
        FactsConfig(news_horizons_s=[23_401.0])
    with pytest.raises(ConfigError, match=r"facts\.news_horizons_s must list"):
        FactsConfig(news_horizons_s=[])


def test_the_table_horizons_are_always_read():
    assert FactsConfig(news_horizons_s=[600.0]).news_read_s == [300.0, 600.0, 1800.0]
    assert FactsConfig().news_read_s == [60.0, 300.0, 1800.0, 3600.0]


def test_news_size_option_replaces_the_preset():
    assert config_from(parse_args(["--quick", "--news-size", "0.05"])).news_size == 0.05
    assert config_from(parse_args(["--quick"])).news_size == 0.03


def test_signs_alternate_from_bad_news():
    assert [news_sign(i) for i in range(4)] == [-1, 1, -1, 1]
    with pytest.raises(ConfigError, match="sign must be"):
        run_news_pair(1001, 0, FactsConfig())


def _run(seed: int, absorption: list[float], gap: float = 0.0) -> NewsRun:
    return NewsRun(seed, -1, -0.03, [60.0, 300.0, 1800.0], absorption, gap)


def test_rows_average_over_the_seeds_that_reached_each_horizon_and_feed_the_table():
    runs = [_run(1, [0.2, 0.9, 1.0]), _run(2, [0.4, 0.7, float("nan")], 1e-9)]
    rows = news_rows(runs)
    assert [r["horizon_s"] for r in rows] == [60.0, 300.0, 1800.0]
    assert rows[0]["absorption"] == pytest.approx(0.3)
    assert rows[0]["absorption_se"] == pytest.approx(0.1)  # s.d. 0.1414 / sqrt(2)
    assert rows[2]["n"] == 1 and rows[2]["absorption"] == 1.0 and rows[2]["absorption_se"] is None
    facts = news_facts(rows, runs)
    assert facts["news_absorption_5m"] == pytest.approx(0.8)
    assert facts["news_absorption_30m"] == 1.0 and facts["news_seeds_30m"] == 1
    assert facts["news_pre_arrival_max"] == 1e-9
    table = {r["key"]: r for r in table_rows(facts)}
    assert table["news_absorption_5m"]["verdict"] == "pass"
    assert table["news_absorption_5m"]["simulated"] == "0.80 (2 seeds)"
    assert table["news_absorption_30m"]["verdict"] == "pass"
    slow = news_facts(news_rows([_run(1, [0.1, 0.5, 1.3])]), [_run(1, [0.1, 0.5, 1.3])])
    table = {r["key"]: r for r in table_rows(slow)}
    assert table["news_absorption_5m"]["verdict"] == "miss"
    assert table["news_absorption_30m"]["verdict"] == "miss"
    lines = news_lines({"news_rows": rows})
    assert lines[2] == "| 1 min | 0.30 ± 0.10 | 2 |" and lines[4] == "| 30 min | 1.00 | 1 |"


def test_without_a_table_horizon_its_fact_is_n_a():
    runs = [NewsRun(1, 1, 0.03, [60.0], [0.5], 0.0)]
    facts = news_facts(news_rows(runs), runs)
    assert facts["news_absorption_5m"] is None
    assert {r["key"]: r for r in table_rows(facts)}["news_absorption_5m"]["verdict"] == "n/a"


def test_one_paired_seed_is_identical_before_the_news_and_takes_it_in_after():
    cfg = dataclasses.replace(quick_config(), overrides=SMALL, news_size=0.05)
    run = run_news_pair(1001, news_sign(0), cfg)
    assert run.sign == -1 and run.size == pytest.approx(-0.05)
    assert run.horizons_s == [60.0, 300.0, 1800.0, 3600.0]
    assert run.pre_arrival_max == 0.0  # common random numbers until the news arrives
    assert len(run.absorption) == 4 and np.all(np.isfinite(run.absorption))
    assert run.absorption[-1] > 0.0
    assert dataclasses.asdict(run)["absorption"] == run.absorption


def test_both_experiments_of_a_seed_share_one_control_day_and_read_the_same():
    cfg = dataclasses.replace(quick_config(), overrides=SMALL, sizes=[0.01])
    impact, news = run_seed_pairs(1002, 1, cfg)
    assert impact.side == -1 and news.sign == 1  # odd position: a sell order, good news
    assert news == run_news_pair(1002, 1, cfg)  # as if the news ran its own control
    assert impact == run_paired(1002, -1, cfg)
