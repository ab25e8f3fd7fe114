"""Bad input is refused before any work, naming the field; a run that fails late still leaves a
summary with the error."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from experiments import load_config
from experiments.config import ConfigError
from experiments.events import EventConfig, EventKind
from experiments.model import HedgeLoopModel
from experiments.run import simulate
from market.exchange.clearing import ConservationError
from market.execution.decomposition import decompose_frames
from tests.conftest import ROOT, run_cli, tiny_cfg


def refused(*overrides: str) -> str:
    """The message of the ConfigError the overrides raise."""
    with pytest.raises(ConfigError) as e:
        load_config("baseline", *overrides)
    return str(e.value)


# ---------------------------------------------------------------------------- the tick
@pytest.mark.parametrize("tick", ["0.005", "0.015", "1e-17", "0.025"])
def test_a_tick_that_is_not_whole_cents_is_refused_with_the_reason(tick):
    """The ledger settles in integer cents: a tick of 0.005 would settle every trade at 0 cents
    and 0.015 at 2 cents, with the conservation residuals still zero."""
    msg = refused(f"market.tick_size={tick}")
    assert "market.tick_size" in msg and "whole number of cents" in msg


@pytest.mark.parametrize("tick", ["0.01", "0.05", "0.25", "1"])
def test_whole_cent_ticks_are_accepted(tick):
    assert load_config("baseline", f"market.tick_size={tick}").market.tick_size == float(tick)


def test_the_cash_of_every_trade_is_its_price_in_cents_on_a_coarser_tick():
    """With a 5-cent tick each account's cash moves by exactly minus its signed trades' value."""
    cfg = tiny_cfg()
    cfg.market.tick_size = 0.05
    model = HedgeLoopModel(cfg)
    cash0 = model.ledger.cash.copy()
    for _ in range(120):
        model.step()
    trades = pd.DataFrame(model.book.trades.columns())
    assert len(trades) > 20
    value = trades["qty"] * trades["price"] * 5  # cents
    buy = trades["aggressor_side"] > 0
    buyer = trades["aggressor_owner"].where(buy, trades["resting_owner"])
    seller = trades["resting_owner"].where(buy, trades["aggressor_owner"])
    paid = value.groupby(buyer).sum().reindex(range(len(cash0)), fill_value=0)
    got = value.groupby(seller).sum().reindex(range(len(cash0)), fill_value=0)
    moved = model.ledger.cash - cash0
    # only underlying trades move cash in these populations (no options)
    assert (moved == (got - paid).to_numpy()).all()


# ---------------------------------------------------------------------------- ranges that fit
@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("market.initial_price=inf", "market.initial_price"),
        ("market.initial_price=1e17", "market.initial_price"),
        ("scenario.events.program.qty=1e30", "scenario.events.program.qty"),
        ("scenario.events.program.qty=10000000000", "scenario.events.program.qty"),
    ],
)
def test_values_whose_cash_would_not_fit_the_ledger_are_refused(override, field):
    msg = refused(override)
    assert field in msg and "must be in" in msg


def test_the_largest_accepted_endowment_is_accepted():
    cfg = load_config("baseline", "agents.background.initial_cash=1e15")
    assert cfg.agents.background.initial_cash == 1e15


# ---------------------------------------------------------------------------- times
@pytest.mark.parametrize("at", ["10:30:99", "10:75", "10:60", "10:30:60", "9:5", "10:3o", "10"])
def test_malformed_event_times_are_refused_naming_the_field(at):
    """10:30:99 was read as 10:31:39."""
    msg = refused(f"scenario.events.program.at={at}")
    assert "scenario.events.program.at" in msg and "HH:MM" in msg


@pytest.mark.parametrize("at", ["16:00", "16:00:30", "17:00", "09:29:59"])
def test_event_times_outside_the_session_are_refused(at):
    assert "scenario.events.program.at" in refused(f"scenario.events.program.at={at}")


def test_an_event_after_the_days_last_step_is_refused():
    """With one-minute steps the last step of a day is at 15:59:00; an event at 15:59:30 would
    fire at the next open, or never on the last day."""
    msg = refused(
        "scenario.events.program.at=15:59:30",
        "market.step_seconds=60",
        "market.record_interval=60",
    )
    assert "scenario.events.program.at" in msg and "15:59:00" in msg


def test_event_seconds_are_read_as_seconds():
    cfg = load_config("baseline", "scenario.events.program.at=15:59:59")
    assert cfg.scenario.events[0].time_of_day() == 23_399.0


def test_a_malformed_circuit_breaker_cutoff_is_refused():
    assert "market.rules.cb_cutoff" in refused("market.rules.cb_cutoff=15:75")


# ---------------------------------------------------------------------------- unknown keys
@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("+foo=1", "'foo'"),
        ("+agents.background.nn=5", "'agents.background.nn'"),
        ("+market.rules.luldx=true", "'market.rules.luldx'"),
    ],
)
def test_unknown_keys_are_refused_naming_the_key(override, key):
    msg = refused(override)
    assert "unknown config key" in msg and key in msg


def test_an_unknown_key_suggests_the_close_field():
    assert "did you mean 'n'" in refused("+agents.background.nn=5")


def test_cli_refuses_an_unknown_key_before_any_work(tmp_path):
    proc = run_cli(ROOT, "+agents.background.nn=5", f"hydra.run.dir={tmp_path}/run")
    assert proc.returncode == 2
    assert "agents.background.nn" in proc.stderr
    assert not (tmp_path / "run" / "summary.json").exists()


# ---------------------------------------------------------------------------- event fields
def test_order_fields_on_a_fundamental_shock_are_refused():
    msg = refused("+scenario.events.news.size=-0.01", "+scenario.events.news.qty=500")
    assert "scenario.events.news.qty" in msg and "fundamental_shock" in msg


def test_a_shock_field_on_a_parent_order_is_refused():
    msg = refused("+scenario.events.program.size=0.1")
    assert "scenario.events.program.size" in msg and "parent_order" in msg


def test_an_unknown_event_field_is_refused():
    assert "scenario.events.program.qtty" in refused("+scenario.events.program.qtty=5")


def test_a_shock_with_only_its_own_fields_is_accepted():
    cfg = load_config("baseline", "+scenario.events.news.size=-0.01")
    shock = [e for e in cfg.scenario.events if e.kind is EventKind.fundamental_shock]
    assert [e.size for e in shock] == [-0.01]


def test_an_event_built_in_code_with_a_foreign_field_is_refused():
    ev = EventConfig(kind=EventKind.fundamental_shock, size=-0.01, qty=500)
    with pytest.raises(ConfigError, match=r"scenario\.events\.0\.qty"):
        ev.validate("scenario.events.0", days=1)


# ---------------------------------------------------------------------------- late failures


def test_a_parent_that_sent_no_child_decomposes_as_all_opportunity_cost():
    """A parent that arrives too late in the day sends no child: the children table is empty
    and has no columns, which used to raise KeyError('filled') after the whole run."""
    parents = pd.DataFrame(
        [{"parent_id": 0, "side": 1, "qty": 100, "arrival_mid": 100.0, "final_mid": 101.0}]
    )
    kids, pars = decompose_frames(pd.DataFrame(), parents)
    assert kids.empty
    assert pars.loc[0, "fill_rate"] == 0.0
    assert pars.loc[0, "cost_opportunity"] == pytest.approx(100.0)  # bought 1% higher: +100 bps


def test_a_desk_parent_without_children_still_writes_every_output(tmp_path):
    cfg = tiny_cfg()
    cfg.desk.enabled = True
    cfg.scenario.events = [
        EventConfig(kind=EventKind.parent_order, at="15:59:50", side=1, qty=5_000)
    ]
    summary = simulate(cfg, out_dir=tmp_path)
    assert summary["desk"]["n_parents"] == 1 and summary["desk"]["n_children"] == 0
    written = json.loads((tmp_path / "summary.json").read_text())
    assert "status" not in written  # a successful run
    parents = pd.read_parquet(tmp_path / "desk_parents.parquet")
    assert parents["fill_rate"].tolist() == [0.0]


def test_a_run_that_fails_while_writing_leaves_a_summary_with_the_error(tmp_path, monkeypatch):
    def disk_full(model, summary, out):
        raise OSError("no space left on device")

    monkeypatch.setattr("experiments.run.write_outputs", disk_full)
    with pytest.raises(OSError, match="no space"):
        simulate(tiny_cfg(), out_dir=tmp_path)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["status"] == "failed"
    assert written["error"] == {"type": "OSError", "message": "no space left on device"}
    assert written["n_trades"] > 0 and written["price"]["close"] > 0  # what was computed


def test_a_run_that_crashes_midway_leaves_a_summary_with_the_error(tmp_path, monkeypatch):
    step = HedgeLoopModel.step

    def crash_at_noon(self):
        if self.steps * self.dt > 9_000:
            raise RuntimeError("boom")
        step(self)

    monkeypatch.setattr(HedgeLoopModel, "step", crash_at_noon)
    with pytest.raises(RuntimeError, match="boom"):
        simulate(tiny_cfg(), out_dir=tmp_path)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["status"] == "failed" and written["error"]["type"] == "RuntimeError"
    assert 0 < written["n_steps"] < 23_400 / 5


def test_a_conservation_failure_marks_the_written_summary_failed(tmp_path, monkeypatch):
    def broken(self):
        raise ConservationError("ledger not conserved: residuals {'cash': 0.01}")

    monkeypatch.setattr(HedgeLoopModel, "finish", broken)
    with pytest.raises(ConservationError):
        simulate(tiny_cfg(), out_dir=tmp_path)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["status"] == "failed" and written["error"]["type"] == "ConservationError"
    assert (tmp_path / "trades.parquet").exists()  # the evidence is kept


# ---------------------------------------------------------------------------- whole runs
@pytest.mark.slow
@pytest.mark.parametrize(
    "override",
    [
        # the parent arrives at the last step and sends no child
        "scenario.events.program.at=15:59:59",
        # the accounts sum to 9e19 cents, beyond int64, though each fits
        "agents.background.initial_cash=1e15",
    ],
)
def test_cli_runs_that_used_to_fail_after_the_work_complete(tmp_path, override):
    proc = run_cli(ROOT, "progress=false", override, f"hydra.run.dir={tmp_path}/run", timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert "status" not in summary and summary["n_trades"] > 0
    assert summary["conservation_residuals"] == {"cash": 0.0, "shares": 0, "options": 0}
    assert (tmp_path / "run" / "desk_parents.parquet").exists()
