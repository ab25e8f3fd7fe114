"""The desk's Hedge Pressure Index: the observer in the model, the state-machine policy, queue
loss, quality gating, shadow mode and the cost decomposition of simulated children."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from agents.desk import (
    DeskConfig,
    HPIMode,
    HPIObserver,
    HPIObserverConfig,
    HPIPolicy,
    HPIPolicyConfig,
    OverrideWindow,
    QuantileTailForecaster,
    SchedulePolicy,
    SliceAdjustment,
    build_state_machine,
    calendar_windows,
    check_adjustment,
    child_frame,
    desk_tables,
    parent_frame,
)
from experiments.config import RunConfig
from experiments.events import EventConfig, EventKind, scheduled_times
from experiments.model import HedgeLoopModel
from market.execution.costs import implementation_shortfall
from market.execution.decomposition import decompose_frames
from market.execution.hpi import COMPONENTS
from market.options.chain import OptionChain, expiry_of_day
from tests.agents.desk.test_desk import MAKER, ScriptedMarket, order
from tests.conftest import continuous_session


def small_market(seed: int = 3, **hpi) -> RunConfig:
    """Every population present but small, one-second records, the HPI desk configured."""
    cfg = continuous_session(RunConfig(seed=seed, progress=False))
    cfg.agents.background.n = 120
    cfg.agents.liquidity.n = 4
    cfg.agents.customers.n = 20
    cfg.agents.customers.rate = 0.01
    cfg.agents.dealers.n = 2
    cfg.agents.insurers.n = 0
    cfg.market.record_interval = 1.0
    cfg.desk = DeskConfig(hpi=HPIPolicyConfig(**{"mode": HPIMode.shadow, **hpi}))
    return cfg


def scripted(**desk) -> tuple[HedgeLoopModel, ScriptedMarket, object]:
    """The desk alone against the scripted ladder of tests.test_desk (no rules, no others)."""
    cfg = continuous_session(RunConfig(progress=False))
    for name in ("background", "liquidity", "customers", "dealers", "insurers"):
        getattr(cfg.agents, name).n = 0
    cfg.agents.latent.enabled = False
    r = cfg.market.rules
    r.circuit_breakers = r.luld = r.stop_logic = False
    cfg.desk = DeskConfig(rate=3.0, **desk)
    model = HedgeLoopModel(cfg)
    market = ScriptedMarket(model, model.to_ticks(cfg.market.initial_price))
    return model, market, model.populations["desk"][0]


# ------------------------------------------------------------------ the index in the model
def test_index_and_components_are_recorded_every_step():
    model = HedgeLoopModel(small_market())
    for _ in range(240):
        model.step()
    ts = model.datacollector.get_model_vars_dataframe()
    assert len(ts) == 241  # one row at construction, then one per step
    cols = ["hpi", "hpi_slope", *(f"hpi_{k}" for k in COMPONENTS), "observer_gex"]
    assert np.isfinite(ts[cols].iloc[1:].to_numpy(float)).all()
    assert set(ts["desk_state"].iloc[1:]) <= {"calm", "pressured", "dislocated", "safe"}
    per_step = model.populations["desk"][0].policy.observer.frame()
    np.testing.assert_array_equal(per_step["time"], np.arange(240.0))
    # the timeseries' value at a step is the observer's reading of that step
    np.testing.assert_allclose(ts["hpi"].iloc[1:].to_numpy(float), per_step["hpi"])
    for k in COMPONENTS:
        np.testing.assert_allclose(ts[f"hpi_{k}"].iloc[1:].to_numpy(float), per_step[f"z_{k}"])
    assert per_step[[f"raw_{k}" for k in COMPONENTS]].std().gt(0).all()


def test_without_the_hpi_policy_the_columns_say_so():
    cfg = small_market()
    cfg.desk = DeskConfig()
    model = HedgeLoopModel(cfg)
    model.step()
    ts = model.datacollector.get_model_vars_dataframe()
    assert ts["desk_state"].iloc[-1] == "off" and math.isnan(ts["hpi"].iloc[-1])
    assert isinstance(model.populations["desk"][0].policy, SchedulePolicy)


class BlindChain(OptionChain):
    """A chain whose dealers' true positions cannot be read at all."""

    @property
    def dealer_position(self):
        raise AssertionError("the observer read the dealers' true positions")


def chain_with(oi, dealer_position) -> BlindChain:
    strikes = np.repeat([95.0, 100.0, 105.0], 2)
    is_call = np.tile([True, False], 3)
    return BlindChain(
        strikes, expiry_of_day(0), is_call, open_interest=oi, dealer_position=dealer_position
    )


def gamma_of(model, chain) -> tuple[float, float]:
    obs = HPIObserver(HPIObserverConfig(), model)
    model.chain = chain
    obs.observe(model, side=1)
    return obs.reading.raw["gamma_pressure"], obs.gex_near


def test_observer_never_reads_true_positions():
    model = HedgeLoopModel(small_market())
    for _ in range(30):
        model.step()
    oi = np.array([400, 100, 900, 300, 100, 400])
    short = gamma_of(model, chain_with(oi, -oi))  # dealers short everything
    long_ = gamma_of(model, chain_with(oi, oi))  # dealers long everything
    mixed = gamma_of(model, chain_with(oi, [0, -100, 300, -300, 100, 0]))
    assert short == long_ == mixed  # only open interest reaches the observer
    more_oi = gamma_of(model, chain_with(2 * oi, 0 * oi))
    assert more_oi[0] != short[0] and more_oi[1] == pytest.approx(2 * short[1])


def test_sign_convention_flips_the_observer_estimate():
    model = HedgeLoopModel(small_market())
    for _ in range(10):
        model.step()
    oi = np.array([0, 0, 1000, 0, 0, 0])  # one call at the money
    model.chain = chain_with(oi, 0 * oi)
    estimates = {}
    for conv in ([-1.0, 1.0], [1.0, -1.0]):
        obs = HPIObserver(HPIObserverConfig(sign_convention=conv), model)
        obs.observe(model)
        estimates[conv[0]] = obs.gex_near
    assert estimates[-1.0] < 0 < estimates[1.0]
    assert estimates[-1.0] == pytest.approx(-estimates[1.0])


def scenario_event_windows(scenario, cfg: HPIObserverConfig) -> list[tuple[float, float, float]]:
    """The observer's calendar windows of a scenario, as the model hands it the calendar."""
    return calendar_windows(scheduled_times(scenario.events), scenario.days, cfg)


def test_only_scheduled_events_and_the_close_are_event_windows():
    cfg = small_market()
    cfg.scenario.events = [
        EventConfig(kind=EventKind.fundamental_shock, at="11:00", size=-0.01, scheduled=True),
        # unannounced news (a crash's shock): the observer must not see it coming
        EventConfig(kind=EventKind.fundamental_shock, at="12:00", size=-0.05),
        # any kind may be on the calendar
        EventConfig(kind=EventKind.surface_shift, at="14:00", dlevel=0.02, scheduled=True),
    ]
    obs_cfg = HPIObserverConfig(macro_window_s=600.0, close_window_s=900.0, close_weight=0.5)
    windows = scenario_event_windows(cfg.scenario, obs_cfg)
    assert windows == [(5400.0, 6000.0, 1.0), (16_200.0, 16_800.0, 1.0), (22_500.0, 23_400.0, 0.5)]
    assert scenario_event_windows(cfg.scenario, HPIObserverConfig(close_weight=0.0)) == [
        (5400.0, 6300.0, 1.0),
        (16_200.0, 17_100.0, 1.0),
    ]
    cfg.scenario.events[0].scheduled = False
    assert scenario_event_windows(cfg.scenario, HPIObserverConfig(close_weight=0.0)) == [
        (16_200.0, 17_100.0, 1.0)
    ]
    # the observer in a model gets the same calendar
    cfg.scenario.events = cfg.scenario.events[:2]
    observer = HedgeLoopModel(cfg).populations["desk"][0].policy.observer
    assert [w for w in observer.event_windows if w[2] == 1.0] == []


# ---------------------------------------------------------------------------- the state machine
def test_hysteresis_makes_a_small_fraction_of_the_flips():
    rng = np.random.default_rng(7)
    n = 20_000
    level = np.zeros(n)
    for i in range(1, n):  # a slow pressure cycle crossing the PRESSURED band, plus noise
        level[i] = 0.999 * level[i - 1] + rng.normal(0, 0.1)
    hpi = 3.0 + level + rng.normal(0, 1.0, n)
    times = np.arange(n, dtype=float)
    flips = {}
    for hysteresis in (True, False):
        machine = build_state_machine(HPIPolicyConfig(hysteresis=hysteresis))
        machine.run(times, hpi)
        flips[hysteresis] = len(machine.transitions)
    assert flips[False] > 2_000
    assert flips[True] < 0.05 * flips[False]


def test_transitions_are_logged_with_their_inputs_and_overrides_apply():
    cfg = small_market(
        overrides=[OverrideWindow(state="safe", start=20.0, end=40.0, note="payrolls")]
    )
    model = HedgeLoopModel(cfg)
    for _ in range(60):
        model.step()
    desk = model.populations["desk"][0]
    tables = desk_tables(desk)
    tr = tables["desk_transitions"]
    start = tr[tr["reason"] == "override_start"].iloc[0]
    assert start["time"] == 20.0 and start["to_state"] == "safe" and start["note"] == "payrolls"
    assert np.isfinite(start["hpi"])
    assert (tr["reason"] == "override_end").any()
    per_step = tables["desk_hpi"].set_index("time")
    states = per_step["desk_state"]
    assert (states.loc[20.0:39.0] == "safe").all()
    # every transition carries the component z-scores of the step that made it
    for _, row in tr.iterrows():
        step = per_step.loc[row["time"]]
        assert row["hpi"] == step["hpi"]
        for k in COMPONENTS:
            assert row[f"z_{k}"] == step[f"z_{k}"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mode": "loud"}, "desk.hpi.mode"),
        ({"upgrade": [3.0, 2.0, 9.0]}, "upgrade"),
        ({"downgrade": [3.0, 4.5, 7.5]}, "downgrade"),
        ({"upgrade": [1.0, 2.0]}, "desk.hpi.upgrade"),
        (
            {"overrides": [OverrideWindow("safe", 0, 100), OverrideWindow("calm", 50, 150)]},
            "overlaps",
        ),
        ({"overrides": [OverrideWindow("panic", 0, 100)]}, r"overrides\[0\].state"),
        ({"k_up": 0}, "desk.hpi.k_up"),
    ],
)
def test_bad_policy_config_is_refused(kwargs, field):
    with pytest.raises(ValueError, match=field):
        HPIPolicyConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sign_convention": [-1.0, 0.5]}, "sign_convention"),
        ({"weights": {"gamma": 1.0}}, "weights"),
        ({"fallbacks": {"book_stress": [0.0, 0.0]}}, r"fallbacks.book_stress\[1\]"),
        ({"min_history_s": 10.0, "scaler_window_s": 5.0}, r"min_history_s must be in \(0.0, 5.0\]"),
        ({"scaler_window_s": 0.0}, "scaler_window_s"),
        ({"stress_weights": [1.0, 1.0]}, "stress_weights"),
    ],
)
def test_bad_observer_config_is_refused(kwargs, field):
    with pytest.raises(ValueError, match=field):
        HPIObserverConfig(**kwargs)


def test_rolling_scaling_takes_over_from_the_fallbacks_after_min_history_s():
    fallbacks = {k: [0.5, 3.0] for k in COMPONENTS}
    cfg = small_market(
        observer=HPIObserverConfig(
            scaler_window_s=120.0, min_history_s=30.0, fallbacks=fallbacks, z_clip=1e3
        )
    )
    cfg.market.step_seconds = 2.0
    cfg.market.record_interval = 2.0
    model = HedgeLoopModel(cfg)
    for _ in range(40):
        model.step()
    observer = model.populations["desk"][0].policy.observer
    frame = observer.frame()
    # seconds of history become observations at two seconds a step
    assert {(s.window, s.min_history) for s in observer.index.scalers.values()} == {(60, 15)}
    assert all(s.trusted for s in observer.index.scalers.values())
    taken_over = 0
    for k in COMPONENTS:
        raw, z = frame[f"raw_{k}"].to_numpy(), frame[f"z_{k}"].to_numpy()
        # the first 15 observations (30 s) are scored on the fallback
        np.testing.assert_allclose(z[:15], (raw[:15] - 0.5) / 3.0)
        for i in range(15, len(raw)):  # then on the median and IQR of the history before them
            q1, med, q3 = np.quantile(raw[:i], [0.25, 0.5, 0.75])
            if q3 > q1:
                assert z[i] == pytest.approx((raw[i] - med) / ((q3 - q1) / 1.3489795003921634))
                taken_over += 1
    assert taken_over > 25
    cfg.desk.hpi.observer = HPIObserverConfig(scaler_window_s=6.0, min_history_s=6.0)
    with pytest.raises(ValueError, match=r"scaler_window_s must span at least 4 steps \(>= 8 s"):
        HedgeLoopModel(cfg)


def test_bad_adjustments_are_refused():
    with pytest.raises(ValueError, match="queue_loss_threshold"):
        check_adjustment(SliceAdjustment(queue_loss_threshold=1.5))
    with pytest.raises(ValueError, match="cross_spread_cap_ticks"):
        check_adjustment(SliceAdjustment(cross_spread_cap_ticks=0))
    with pytest.raises(ValueError, match="gate_wait_s"):
        check_adjustment(SliceAdjustment(gate_wait_s=-1.0))


# ------------------------------------------------------------------ the policy drives the desk
def forced(state: str, mode: HPIMode = HPIMode.live, **hpi) -> HPIPolicyConfig:
    return HPIPolicyConfig(mode=mode, overrides=[OverrideWindow(state, 0.0, 1e6)], **hpi)


def run_forced(state: str, mode: HPIMode = HPIMode.live, steps: int = 120, **desk):
    model, market, desk_ = scripted(hpi=forced(state, mode), **desk)
    market.volume = 300
    market.run(3)
    p = desk_.add_parent(order(side=1, qty=20_000, participation=0.2, urgency=0.0))
    market.run(steps)
    return model, desk_, p


def test_state_policies_change_the_slicing():
    _, calm, p_calm = run_forced("calm", max_child_qty=400)
    _, dis, p_dis = run_forced("dislocated", max_child_qty=400)
    _, safe, p_safe = run_forced("safe", max_child_qty=400)
    _, pres, _ = run_forced("pressured", max_child_qty=400)
    assert calm.children and all(c.dwell_s == pytest.approx(4.0) for c in calm.children)
    # PRESSURED: a third of the plain dwell and a tighter queue-loss threshold
    assert all(c.dwell_s == pytest.approx(4.0 / 3.0) for c in pres.children)
    assert all(c.queue_loss_threshold == 0.25 for c in pres.children)
    assert all(c.queue_loss_threshold is None for c in calm.children)
    # DISLOCATED: half-size children, a slower rate and a spread gate
    assert max(c.qty for c in dis.children) <= 200 < max(c.qty for c in calm.children)
    assert all(c.cross_spread_cap_ticks is not None for c in dis.children)
    assert p_dis.filled < p_calm.filled
    # SAFE: a parent that has not started does not start
    assert safe.children == [] and p_safe.filled == 0
    assert {c.policy_state for c in dis.children} == {"dislocated"}


def run_plain(steps: int = 120, **desk):
    """The same parent as :func:`run_forced` on the plain schedule (no HPI policy)."""
    model, market, desk_ = scripted(**desk)
    market.volume = 300
    market.run(3)
    p = desk_.add_parent(order(side=1, qty=20_000, participation=0.2, urgency=0.0))
    market.run(steps)
    return model, desk_, p


def test_calm_is_the_plain_schedule_unless_its_policy_is_changed():
    _, plain, p_plain = run_plain(max_child_qty=400)
    _, calm, p_calm = run_forced("calm", max_child_qty=400)
    assert [(c.qty, c.dwell_s, c.decision_time) for c in calm.children] == [
        (c.qty, c.dwell_s, c.decision_time) for c in plain.children
    ]
    assert p_calm.filled == p_plain.filled
    # CALM's playbook entry is a policy like any other: here smaller children, half the dwell
    _, market, desk_ = scripted(
        max_child_qty=400,
        hpi=forced(
            "calm",
            state_policies={
                "calm": {"slice_cap": 0.5, "passive_dwell_scale": 0.5, "queue_loss_threshold": 0.3}
            },
        ),
    )
    market.volume = 300
    market.run(3)
    desk_.add_parent(order(side=1, qty=20_000, participation=0.2, urgency=0.0))
    market.run(120)
    assert desk_.children and max(c.qty for c in desk_.children) <= 200
    assert all(c.dwell_s == pytest.approx(2.0) for c in desk_.children)
    assert all(c.queue_loss_threshold == 0.3 for c in desk_.children)
    assert {c.policy_state for c in desk_.children} == {"calm"}


def test_passive_dwell_scale_multiplies_the_plain_dwell_in_any_state():
    # the scale is a multiple of desk.passive_dwell_s * (1 - urgency), whatever CALM's is
    for state in ("pressured", "safe"):
        _, market, desk_ = scripted(
            passive_dwell_s=6.0,
            hpi=HPIPolicyConfig(
                mode=HPIMode.live,
                overrides=[OverrideWindow("calm", 0.0, 10.0), OverrideWindow(state, 10.0, 1e6)],
                state_policies={
                    state: {"passive_dwell_scale": 0.25},
                    "calm": {"passive_dwell_scale": 2.0},
                },
            ),
        )
        market.volume = 300
        market.run(3)
        desk_.add_parent(order(side=1, qty=20_000, participation=0.2, urgency=0.5))
        market.run(60)
        early = [c for c in desk_.children if c.decision_time < 10.0]
        late = [c for c in desk_.children if c.decision_time >= 10.0]
        assert early and all(c.dwell_s == pytest.approx(6.0) for c in early)  # 6 * 0.5 * 2
        assert late and all(c.dwell_s == pytest.approx(0.75) for c in late)  # 6 * 0.5 * 0.25
    with pytest.raises(ValueError, match=r"state_policies.calm: passive_dwell_scale must be in"):
        HPIPolicyConfig(state_policies={"calm": {"passive_dwell_scale": -1.0}})
    with pytest.raises(ValueError, match=r"unknown fields.*passive_dwell_seconds"):
        HPIPolicyConfig(state_policies={"pressured": {"passive_dwell_seconds": 10.0}})


def test_safe_lets_a_started_parent_finish_passive_first_at_the_far_touch():
    model, market, desk_ = scripted(
        hpi=HPIPolicyConfig(mode=HPIMode.live, overrides=[OverrideWindow("safe", 20.0, 1e6)])
    )
    market.volume = 300
    market.run(3)
    p = desk_.add_parent(order(side=1, qty=20_000, participation=0.2, urgency=0.0))
    market.run(60)
    late = [c for c in desk_.children if c.decision_time >= 20.0]
    assert late and p.n_children > len(late)  # it had started before SAFE, so it goes on
    assert all(c.policy_state == "safe" and c.max_cross_ticks == 0 for c in late)
    assert all(c.dwell_s == pytest.approx(4.0) for c in late)  # the plain dwell: passive first
    tick = model.tick
    for c in late:
        if not math.isnan(c.cross_price):
            # crossing only at the far touch itself (ask = centre + 1 tick), never walking
            assert c.cross_price == pytest.approx(100.0 + tick)


def test_shadow_mode_slices_plainly_and_logs_what_it_would_do():
    _, plain, p_plain = run_forced("dislocated", mode=HPIMode.shadow, steps=60)
    _, market, reference = scripted()
    market.volume = 300
    market.run(3)
    p_ref = reference.add_parent(order(side=1, qty=20_000, participation=0.2, urgency=0.0))
    market.run(60)
    assert [c.qty for c in plain.children] == [c.qty for c in reference.children]
    assert p_plain.filled == p_ref.filled
    log = pd.DataFrame(plain.policy.shadow_log)
    # one entry per slicing decision, so one at least for every child sent
    assert set(log["time"]) >= {c.decision_time for c in plain.children}
    assert (log["state"] == "dislocated").all() and (log["would_size_scale"] == 0.5).all()
    assert {c.policy_state for c in plain.children} == {"schedule"}
    assert {c.context["hpi_state"] for c in plain.children} == {"dislocated"}


def test_quality_gate_holds_a_cross_while_the_spread_is_wide():
    model, market, desk_ = scripted(hpi=forced("dislocated"))
    market.volume = 0
    market.run(3)
    # a wide market: the near levels are gone on both sides
    market.refresh = lambda: None
    book = model.book
    for side in (1, -1):
        for oid in list(market.orders):
            if (
                book.remaining(oid)
                and book.order_record(oid).side == side
                and abs(book.order_record(oid).price - 10_000) <= 3
            ):
                model.venue.cancel(oid)
    assert book.spread >= 8
    p = desk_.add_parent(order(side=1, qty=500, algo="twap", horizon_s=5.0, urgency=0.5))
    for _ in range(60):
        model.step()
    c = desk_.children[0]
    assert c.cross_spread_cap_ticks < book.spread
    assert c.end_reason == "gated" and math.isnan(c.cross_price)
    assert c.gate_wait >= desk_.cfg.hpi.gate_max_wait_s - 1.0
    assert p.filled < p.qty


def test_queue_loss_is_tracked_and_ends_a_pressured_dwell():
    model, market, desk_ = scripted(passive_dwell_s=30.0, hpi=forced("pressured"))
    market.run(3)
    market.refresh = lambda: None  # the ladder stays where it is
    p = desk_.add_parent(order(side=1, qty=300, algo="twap", horizon_s=3.0, urgency=0.0))
    model.step()
    c = desk_.children[0]
    assert c.passive_order_id and desk_.queue_loss(c) == 0.0
    assert c.dwell_until > model.now + 5.0  # PRESSURED: 30 s / 3 = 10 s of dwell
    # someone improves the bid with a large order: the child is bypassed
    model.venue.limit(MAKER, 1, round(c.passive_price / model.tick) + 1, 5_000)
    # ahead of the child: the new 5,000 at a better price plus the 5,000 it queued behind;
    # lost: the 5,000 that were not there when it joined
    assert desk_.queue_loss(c) == pytest.approx(5_000 / (10_000 + 300))
    for _ in range(3):
        model.step()
    # past PRESSURED's threshold (0.25), short of the desk's reference for "lost" (0.5)
    assert c.queue_breached and not c.queue_lost and c.status == "done"
    assert c.end_time < c.decision_time + 5.0  # it stopped waiting
    assert p.filled == 300  # and crossed the rest


def test_plain_desk_measures_queue_loss_without_acting_on_it():
    model, market, desk_ = scripted(passive_dwell_s=6.0)
    market.run(3)
    market.refresh = lambda: None
    desk_.add_parent(order(side=1, qty=300, algo="twap", horizon_s=3.0, urgency=0.0))
    model.step()
    c = desk_.children[0]
    model.venue.limit(MAKER, 1, round(c.passive_price / model.tick) + 1, 20_000)
    for _ in range(3):
        model.step()
    assert c.queue_loss_max == pytest.approx(20_000 / (25_000 + 300))
    assert c.queue_lost and not c.queue_breached and c.status == "working"


# ---------------------------------------------------------------------------- cost decomposition
def test_decomposition_of_simulated_children_adds_up_to_the_shortfall():
    model = HedgeLoopModel(small_market(mode=HPIMode.live))
    desk_ = model.populations["desk"][0]
    for _ in range(5):
        model.step()
    desk_.add_parent(order(side=1, qty=2_000, algo="twap", horizon_s=60.0, urgency=0.3))
    desk_.add_parent(order(side=-1, qty=400_000, participation=0.05, urgency=0.7))
    for _ in range(400):
        model.step()
    children, parents = child_frame(desk_), parent_frame(desk_)
    assert set(parents["status"]) == {"completed", "active"}  # one done, one far from done
    assert {f"markout_{h:g}s" for h in (5, 30, 120)} <= set(children.columns)
    rng = np.random.default_rng(0)
    perm = rng.normal(0, 1, len(children))
    kids, pars = decompose_frames(children, parents, betas=[0.3, -0.2, 0.5], expected_perm_bps=perm)
    parts = ["cost_delay", "cost_spread", "cost_temp", "cost_perm", "cost_hedge", "cost_residual"]
    np.testing.assert_allclose(kids[parts].sum(axis=1), kids["cost_total"], atol=1e-9)
    np.testing.assert_allclose(kids["cost_total"], kids["shortfall_bps"], atol=1e-9)
    np.testing.assert_allclose(
        kids["cost_hedge"],
        kids["hpi"] * (0.3 - 0.2 * kids["volatility"] + 0.5 * kids["queue_fragility"]),
        atol=1e-9,
    )
    np.testing.assert_allclose(
        pars[[*parts, "cost_opportunity"]].sum(axis=1), pars["cost_total"], atol=1e-9
    )
    for _, row in pars.iterrows():
        fills = kids[kids["parent_id"] == row["parent_id"]]
        full = row["filled"] == row["qty"]
        is_ = implementation_shortfall(
            row["side"],
            row["arrival_mid"],
            fills["avg_price"],
            fills["filled"],
            row["qty"],
            final_mid=None if full else row["final_mid"],
        )
        assert row["cost_total"] == pytest.approx(is_.total_bps, abs=1e-9)
        assert row["is_bps"] == pytest.approx(is_.total_bps, abs=1e-9)
    unfinished = pars[pars["status"] == "active"].iloc[0]
    assert unfinished["cost_opportunity"] != 0.0 and unfinished["fill_rate"] < 1.0


def test_run_tables_hold_children_parents_and_the_per_step_index():
    model = HedgeLoopModel(small_market())
    desk_ = model.populations["desk"][0]
    for _ in range(5):
        model.step()
    desk_.add_parent(order(side=1, qty=2_000, participation=0.3))
    for _ in range(120):
        model.step()
    tables = model.extra_tables()
    assert {"desk_children", "desk_parents", "desk_hpi", "desk_transitions"} <= set(tables)
    kids = tables["desk_children"]
    assert {
        "hpi",
        "hpi_state",
        "queue_fragility",
        "latency_ms",
        "half_spread",
        "cost_spread",
        "markout_30s",
    } <= set(kids.columns)
    assert (kids["latency_ms"] >= 0).all()
    assert len(tables["desk_hpi"]) == 125
    assert isinstance(model.populations["desk"][0].policy, HPIPolicy)


# ------------------------------------------------------------------ tail forecasts, playbook edits
class SpreadTail:
    """A stand-in slippage model: p95 = 10 x the spread in bps."""

    quantiles = (0.5, 0.95)

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []

    def predict(self, frame, quantile, use_hedge=True):
        self.frames.append(frame)
        return 10.0 * frame["spread_bps"].to_numpy()


def test_a_tail_forecast_can_drive_the_state_machine():
    from market.execution.slippage_model import DEFAULT_BASELINE_FEATURES, HedgeFeatureSpec

    cfg = small_market(
        mode=HPIMode.live,
        upgrade=[50.0, 60.0, 70.0],
        downgrade=[40.0, 55.0, 65.0],
        overrides=[OverrideWindow("calm", 100.0, 200.0, "kept")],
    )
    model = HedgeLoopModel(cfg)
    policy = model.populations["desk"][0].policy
    stub = SpreadTail()
    with pytest.raises(ValueError, match="must each list 3 levels"):
        policy.attach_tail_forecaster(
            QuantileTailForecaster(stub, 0.95), upgrade_bps=[5.0], downgrade_bps=[4.0]
        )
    with pytest.raises(ValueError, match=r"tail_downgrade_bps \(6.0\) must be <"):
        policy.attach_tail_forecaster(
            QuantileTailForecaster(stub, 0.95),
            upgrade_bps=[5.0, 15.0, 1e4],
            downgrade_bps=[6.0, 10.0, 5e3],
        )
    with pytest.raises(ValueError, match="interval_s"):
        policy.attach_tail_forecaster(
            QuantileTailForecaster(stub, 0.95),
            upgrade_bps=[5.0, 15.0, 1e4],
            downgrade_bps=[4.0, 10.0, 5e3],
            interval_s=0.0,
        )
    policy.attach_tail_forecaster(
        QuantileTailForecaster(stub, 0.95),
        upgrade_bps=[5.0, 15.0, 1e4],
        downgrade_bps=[4.0, 10.0, 5e3],
        interval_s=5.0,
    )
    assert len(policy.machine.overrides) == 1  # the rebuilt machine keeps the config's windows
    for _ in range(60):
        model.step()
    frame = policy.observer.frame()
    assert len(stub.frames) == 12  # every 5 s
    needed = {*DEFAULT_BASELINE_FEATURES, *HedgeFeatureSpec().columns}
    assert needed <= set(stub.frames[0].columns)
    spread_bps = stub.frames[-1]["spread_bps"].iloc[0]
    assert frame["tail_p95_bps"].iloc[-1] == pytest.approx(10 * spread_bps)
    assert frame["hpi"].max() < 40  # the index alone would never leave CALM
    tr = policy.machine.transitions_frame()
    assert len(tr) and set(tr["trigger"]) <= {"tail", "stabilised"}
    assert "dislocated" in set(frame["desk_state"])  # spreads of 2+ bps forecast 20+ bps
    with pytest.raises(ValueError, match="quantile"):
        QuantileTailForecaster(stub, 0.9)
    with pytest.raises(ValueError, match="before the first observation"):
        policy.attach_tail_forecaster(
            QuantileTailForecaster(stub, 0.95),
            upgrade_bps=[5.0, 15.0, 1e4],
            downgrade_bps=[4.0, 10.0, 5e3],
        )


def test_the_playbook_of_each_state_is_configurable():
    machine = build_state_machine(
        HPIPolicyConfig(
            state_policies={"dislocated": {"participation_multiplier": 1.0, "slice_cap": 0.8}}
        )
    )
    from market.execution.states import ExecState

    dis = machine.policies[ExecState.dislocated]
    assert dis.participation_multiplier == 1.0 and dis.slice_cap == 0.8
    assert dis.horizon_stretch == 1.5  # the rest of the playbook stays
    with pytest.raises(ValueError, match=r"state_policies.dislocated has unknown fields"):
        HPIPolicyConfig(state_policies={"dislocated": {"speed": 2.0}})
    with pytest.raises(ValueError, match="slice_cap"):
        HPIPolicyConfig(state_policies={"safe": {"slice_cap": 0.0}})
    with pytest.raises(ValueError, match="unknown state"):
        HPIPolicyConfig(state_policies={"panic": {"slice_cap": 0.5}})
