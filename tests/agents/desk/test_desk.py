"""The execution desk working parent orders in a small scripted market."""

from __future__ import annotations

import math

import pytest

from agents.desk import (
    DeskConfig,
    ExecutionDesk,
    ParentOrderSpec,
    SchedulePolicy,
    SliceAdjustment,
    VolumeBasis,
    check_adjustment,
)
from experiments.config import RunConfig
from experiments.events import EventConfig, EventKind
from experiments.model import HedgeLoopModel
from tests.conftest import continuous_session

MAKER = 0  # the ledger's spare account quotes and trades the scripted market


class ScriptedMarket:
    """The spare account quotes a ladder around ``center`` (ticks) and prints ``volume`` shares
    each step by trading with itself, half buyer- and half seller-initiated."""

    def __init__(self, model: HedgeLoopModel, center: int, size: int = 5_000, volume: int = 0):
        self.model = model
        self.center = center
        self.size = size
        self.volume = volume
        self.orders: list[int] = []
        self.k = 0

    def refresh(self) -> None:
        venue = self.model.venue
        for oid in self.orders:
            venue.cancel(oid)
        self.orders = []
        for k in range(1, 6):
            self.orders.append(venue.limit(MAKER, 1, self.center - k, self.size))
            self.orders.append(venue.limit(MAKER, -1, self.center + k, self.size))

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.refresh()
            if self.volume and not self.model.book.halted:
                self.k += 1
                self.model.venue.market(MAKER, 1 if self.k % 2 else -1, self.volume)
            self.model.step()


def desk_only_config(**desk) -> RunConfig:
    """Only the desk trades (with the scripted market); no trading rules interfere."""
    cfg = RunConfig()
    for name in ("background", "liquidity", "customers", "dealers", "insurers"):
        getattr(cfg.agents, name).n = 0
    cfg.agents.latent.enabled = False
    opts = {"rate": 3.0}
    opts.update(desk)
    cfg.desk = DeskConfig(**opts)
    r = cfg.market.rules
    r.circuit_breakers = r.luld = r.stop_logic = False
    return continuous_session(cfg)


def make_model(**desk) -> tuple[HedgeLoopModel, ScriptedMarket, ExecutionDesk]:
    cfg = desk_only_config(**desk)
    model = HedgeLoopModel(cfg)
    market = ScriptedMarket(model, model.to_ticks(cfg.market.initial_price))
    return model, market, model.populations["desk"][0]


def parent(**kw) -> EventConfig:
    opts = {
        "kind": EventKind.parent_order,
        "side": -1,
        "qty": 10_000,
        "algo": "pov",
        "participation": 0.1,
        "horizon_s": 600.0,
        "urgency": 0.0,
    }
    opts.update(kw)
    return EventConfig(**opts)


def order(**kw) -> ParentOrderSpec:
    """The desk's spec of :func:`parent`'s event (what the model hands the desk)."""
    return ParentOrderSpec.from_event(parent(**kw))


def market_volume_ex_desk(model, desk, since_step: int) -> float:
    return float(model.state.volumes[since_step + 1 : model.state.n + 1].sum()) - desk.filled_total


def test_pov_tracks_its_participation_of_market_volume():
    model, market, desk = make_model()
    market.volume = 200
    market.run(10)
    start = model.state.n
    p = desk.add_parent(order(participation=0.1))
    market.run(300)
    ex_desk = market_volume_ex_desk(model, desk, start)
    assert 0.85 * 300 * 200 < ex_desk <= 300 * 200  # the flow minus what hit the desk
    # the desk trades 10% of the others' volume, within about two slices' worth
    assert p.filled == pytest.approx(0.1 * ex_desk, abs=0.1 * 200 * 10)
    assert p.filled > 0 and p.status == "active"
    assert p.passive_filled > 0  # passive children at the touch get hit by the flow
    model.finish()


def test_pov_counts_own_volume_when_asked():
    filled = {}
    for exclude in (True, False):
        _, market, desk = make_model(exclude_own_volume=exclude)
        market.volume = 200
        market.run(5)
        p = desk.add_parent(order(participation=0.5, qty=100_000))
        market.run(200)
        filled[exclude] = p.filled
    # counting its own prints in the volume makes a POV order chase itself
    assert filled[False] > 1.3 * filled[True]


def test_previous_minute_basis_trades_on_the_last_minutes_volume():
    """Volume stops when the parent arrives: since-arrival POV does nothing, while the
    2010-style "x% of the previous minute's volume" keeps selling on the old minute."""
    done = {}
    for basis in VolumeBasis:
        _, market, desk = make_model(volume_basis=basis, volume_window_s=60.0)
        market.volume = 300
        market.run(60)
        market.volume = 0
        p = desk.add_parent(order(participation=0.09, urgency=1.0))
        market.run(30)
        done[basis] = p.filled
    assert done[VolumeBasis.since_arrival] == 0
    # 9% of the last minute's volume (60 x 300) per minute, over about half a minute
    assert 0.2 * 0.09 * 18_000 < done[VolumeBasis.previous_minute] < 0.6 * 0.09 * 18_000


def test_twap_completes_on_schedule_in_a_liquid_market():
    model, market, desk = make_model(slice_interval_s=5.0, passive_dwell_s=3.0)
    market.volume = 100
    market.run(5)
    p = desk.add_parent(order(side=1, qty=6_000, algo="twap", horizon_s=300.0, urgency=0.0))
    market.run(150)
    assert p.filled == pytest.approx(3_000, abs=200)  # half way through: half done
    market.run(160)
    assert p.status == "completed" and p.completion == 1.0
    assert p.end_time <= p.arrival_time + 300.0 + 3.0 + 1.0
    assert sum(c.filled for c in desk.children) == 6_000
    assert all(c.qty <= desk.cfg.max_child_qty for c in desk.children)
    assert desk.active_parents == 0 and desk.filled_total == 6_000
    assert model.ledger.shares[desk.account] == 6_000
    model.finish()


def test_max_child_qty_and_urgency_shape_children():
    _, market, desk = make_model(max_child_qty=150)
    market.volume = 100
    market.run(5)
    desk.add_parent(order(side=1, qty=3_000, algo="twap", horizon_s=60.0, urgency=1.0))
    market.run(40)
    assert desk.children and all(c.qty <= 150 for c in desk.children)
    # urgency 1: no passive dwell, every child crosses at once
    assert all(c.dwell_s == 0.0 and c.passive_filled == 0 for c in desk.children)


@pytest.mark.parametrize("side", [1, -1])
def test_limit_price_is_respected(side):
    _, market, desk = make_model()
    market.size = 300  # thin levels, so the flow trades through to the limit's level
    market.volume = 400
    market.run(5)
    # a buy limited 3 ticks below the ask, a sell 3 ticks above the bid
    limit = 100.0 - side * 0.02
    p = desk.add_parent(
        order(side=side, qty=20_000, algo="twap", horizon_s=60.0, limit_price=limit, urgency=0.5)
    )
    market.run(80)
    fills = [px for c in desk.children for _, _, px in c.fills]
    assert fills, "the market trades through the limit, so some children fill"
    assert all(side * (px - limit) <= 1e-9 for px in fills)
    assert p.filled < p.qty  # the rest of the market is beyond the limit
    for c in desk.children:
        assert side * (c.passive_price - limit) <= 1e-9
        assert math.isnan(c.cross_price) or side * (c.cross_price - limit) <= 1e-9


@pytest.mark.parametrize("side", [1, -1])
def test_slippage_sign_convention(side):
    _, market, desk = make_model()
    market.run(5)
    p = desk.add_parent(order(side=side, qty=500, algo="twap", horizon_s=1.0, urgency=1.0))
    market.run(3)
    assert p.status == "completed"
    # crossing a 2-tick spread around a 100.00 mid costs one tick = 1 bp on either side
    assert p.arrival_mid == pytest.approx(100.0)
    assert p.avg_price == pytest.approx(100.0 + side * 0.01)
    assert p.slippage_bps == pytest.approx(1.0)
    assert desk.children[0].slippage_bps == pytest.approx(1.0)
    assert desk.summary()["slippage_bps"] == pytest.approx(1.0)


def test_halted_market_gets_no_child_orders():
    model, market, desk = make_model()
    market.volume = 200
    market.run(5)
    model.book.halt("test")
    n_orders = model.book.n_orders
    desk.add_parent(order(side=1, qty=1_000, algo="twap", horizon_s=30.0, urgency=1.0))
    for _ in range(40):
        model.step()
    assert desk.children == [] and model.book.n_orders == n_orders
    model.book.reopen()
    market.run(5)
    assert desk.children and desk.filled_total > 0


def test_day_orders_expire_at_the_close():
    model, market, desk = make_model(passive_dwell_s=100.0)
    market.run(5)
    p = desk.add_parent(order(side=1, qty=1_000, algo="twap", horizon_s=3_000.0))
    market.run(10)
    live = p.live_child
    assert live is not None and model.book.remaining(live.passive_order_id) > 0
    desk.on_close(0)
    assert p.status == "expired" and desk.active_parents == 0
    assert model.book.remaining(live.passive_order_id) == 0
    assert desk.parent_records()[0]["status"] == "expired"


class HalfPace(SchedulePolicy):
    state = "half"

    def __init__(self) -> None:
        self.done = 0

    def adjust(self, model, parent):
        return SliceAdjustment(participation_scale=0.5, size_scale=0.5)

    def on_child_done(self, child):
        self.done += 1


class NoNewRisk(SchedulePolicy):
    state = "safe"

    def adjust(self, model, parent):
        return SliceAdjustment(start_new=False)


def test_policy_plug_in_changes_slicing_and_sees_children():
    share = {}
    for policy in (SchedulePolicy(), HalfPace(), NoNewRisk()):
        model, market, desk = make_model(max_child_qty=200)
        desk.policy = policy
        market.volume = 200
        market.run(5)
        start = model.state.n
        p = desk.add_parent(order(participation=0.2))
        market.run(200)
        share[policy.state] = p.filled / market_volume_ex_desk(model, desk, start)
        if isinstance(policy, HalfPace):
            assert policy.done == sum(c.status == "done" for c in desk.children) > 0
            assert all(c.qty <= 100 and c.policy_state == "half" for c in desk.children)
    assert share["safe"] == 0
    assert share["schedule"] == pytest.approx(0.2, rel=0.1)
    assert share["half"] == pytest.approx(0.1, rel=0.1)


def test_bad_policies_and_parents_are_refused():
    _, _, desk = make_model()
    with pytest.raises(ValueError, match="desk policy"):
        desk.policy = object()
    with pytest.raises(ValueError, match="size_scale"):
        check_adjustment(SliceAdjustment(size_scale=0.0))
    with pytest.raises(ValueError, match="dwell_s"):
        check_adjustment(SliceAdjustment(dwell_s=-1.0))
    with pytest.raises(ValueError, match="participation"):
        desk.add_parent(order(participation=1.5))
    with pytest.raises(ValueError, match="algo"):
        desk.add_parent(order(algo="vwap"))
    assert desk.parents == []
    with pytest.raises(ValueError, match=r"desk\.min_child_qty must be in \[1, 5000\]"):
        DeskConfig(min_child_qty=0)


def test_scenario_event_reaches_the_desk_and_records_are_flat():
    cfg = desk_only_config()
    cfg.scenario.events = [
        parent(side=1, qty=300, algo="twap", horizon_s=10.0, at="09:30:05", urgency=1.0)
    ]
    model = HedgeLoopModel(cfg)
    market = ScriptedMarket(model, 10_000)
    market.run(20)
    desk = model.populations["desk"][0]
    assert desk.parents[0].arrival_time == 5.0 and desk.parents[0].status == "completed"
    rows = desk.parent_records() + desk.child_records() + desk.fill_records()
    assert all(isinstance(v, (int, float, str)) for row in rows for v in row.values())
    assert sum(r["qty"] for r in desk.fill_records()) == 300


def test_a_parent_order_spec_declares_its_ranges_once():
    spec = ParentOrderSpec.from_event(parent(side=1, qty=500, limit_price=99.5))
    assert (spec.side, spec.qty, spec.algo, spec.limit_price) == (1, 500, "pov", 99.5)
    for bad, field in [
        ({"side": 0}, "side"),
        ({"side": True}, "side"),
        ({"qty": 0}, "qty"),
        ({"qty": 2.5}, "qty"),
        ({"urgency": 2.0}, "urgency"),
        ({"limit_price": 0.0}, "limit_price"),
        ({"horizon_s": 0.0}, "horizon_s"),
    ]:
        with pytest.raises(ValueError, match=rf"parent_order\.{field}"):
            ParentOrderSpec(**{"side": 1, "qty": 100, **bad})
    _, market, desk = make_model()
    market.run(2)
    p = desk.add_parent(ParentOrderSpec(side=1, qty=200, algo="twap", horizon_s=10.0))
    assert p.algo == "twap" and p.limit_price is None and desk.parents == [p]
