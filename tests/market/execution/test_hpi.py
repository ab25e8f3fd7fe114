"""Tests of the Hedge Pressure Index components, the robust scaler and the index itself."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.execution.hpi import (
    COMPONENTS,
    HedgePressureIndex,
    RobustScaler,
    book_stress,
    book_stress_parts,
    expiry_proximity,
    gamma_pressure,
    hedge_pressure_index,
    spot_velocity,
)

# ---------------------------------------------------------------- gamma pressure


def test_short_gamma_raises_pressure_and_long_gamma_pin_lowers_it():
    short = gamma_pressure(-2e6, 0.0)
    flat = gamma_pressure(0.0, 0.0)
    long_ = gamma_pressure(2e6, 0.0)
    assert short == pytest.approx(2.0)
    assert flat == 0.0
    assert long_ == pytest.approx(-2.0)
    assert gamma_pressure(0.0, 0.8) == pytest.approx(-0.8)
    assert gamma_pressure(0.0, -0.8) == pytest.approx(0.8)


def test_gamma_pressure_parameters_and_broadcasting():
    out = gamma_pressure(np.array([-1e9, 0.0, 1e9]), 0.5, gex_scale=1e9, pin_weight=2.0)
    np.testing.assert_allclose(out, [0.0, -1.0, -2.0])
    assert gamma_pressure(-1e6, 0.0, gex_scale=5e5) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"concentration": 1.5}, "concentration"),
        ({"gex_scale": 0.0}, "gex_scale"),
        ({"pin_weight": -1.0}, "pin_weight"),
        ({"observer_gex_near_spot": np.nan}, "observer_gex_near_spot"),
    ],
)
def test_gamma_pressure_rejects_bad_input(kwargs, field):
    args = {"observer_gex_near_spot": 0.0, "concentration": 0.0, **kwargs}
    with pytest.raises(ValueError, match=field):
        gamma_pressure(**args)


# ---------------------------------------------------------------- spot velocity


def test_spot_velocity_of_a_constant_log_drift():
    times = np.arange(0.0, 600.0, 1.0)
    rate_bps_per_minute = 3.0
    prices = 100 * np.exp(rate_bps_per_minute * 1e-4 * times / 60.0)
    v = spot_velocity(times, prices, window_seconds=60.0, desk_side=1)
    np.testing.assert_allclose(v[1:], rate_bps_per_minute, rtol=1e-9)
    assert v[0] == 0.0
    sell = spot_velocity(times, prices, window_seconds=60.0, desk_side=-1)
    np.testing.assert_allclose(sell, -v)


def test_spot_velocity_window_changes_what_is_measured():
    # Flat, then a jump 30 s before the end: a short window sees it fast, a long one averages it.
    times = np.arange(0.0, 300.0, 1.0)
    prices = np.where(times >= 270, 101.0, 100.0)
    short = spot_velocity(times, prices, 30.0)[-1]
    long_ = spot_velocity(times, prices, 120.0)[-1]
    assert short > long_ > 0
    assert short == pytest.approx(1e4 * np.log(1.01) / 30 * 60)


def test_spot_velocity_per_observation_side():
    times = np.array([0.0, 60.0, 120.0])
    prices = np.array([100.0, 100.0, 99.0])
    v = spot_velocity(times, prices, 60.0, desk_side=np.array([1, 1, -1]))
    assert v[2] > 0  # a falling price is against a seller


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"times": [0.0, 2.0, 1.0]}, "times"),
        ({"prices": [100.0, -1.0, 100.0]}, "prices"),
        ({"window_seconds": 0.0}, "window_seconds"),
        ({"desk_side": 0}, "desk_side"),
    ],
)
def test_spot_velocity_rejects_bad_input(kwargs, field):
    args = {
        "times": [0.0, 1.0, 2.0],
        "prices": [100.0, 100.0, 100.0],
        "window_seconds": 1.0,
        **kwargs,
    }
    with pytest.raises(ValueError, match=field):
        spot_velocity(**args)


# ---------------------------------------------------------------- expiry proximity


def test_expiry_proximity_is_nonlinear_and_capped():
    hours = np.array([24.0, 4.0, 1.0, 0.25, 0.1, 0.0])
    e = expiry_proximity(hours * 3600, 1.0)
    assert np.all(np.diff(e[:4]) > 0)
    np.testing.assert_allclose(e[:4], 1 / np.sqrt(hours[:4]))
    np.testing.assert_allclose(e[3:], 2.0)  # capped at 1/sqrt(0.25 h)
    assert expiry_proximity(0.0, 1.0, floor_hours=1.0) == pytest.approx(1.0)


def test_expiry_proximity_scales_with_expiring_open_interest():
    assert expiry_proximity(3600.0, 0.25) == pytest.approx(0.25)
    assert expiry_proximity(3600.0, 0.0) == 0.0


def test_event_window_bump_ramps_in_and_ends():
    windows = [(1000.0, 1100.0)]
    now = np.array([0.0, 700.0, 850.0, 1000.0, 1099.0, 1100.0])
    e = expiry_proximity(1e9, 0.0, windows, now, event_bump=2.0, event_lead_seconds=300.0)
    np.testing.assert_allclose(e, [0.0, 0.0, 1.0, 2.0, 2.0, 0.0])
    step = expiry_proximity(1e9, 0.0, windows, 850.0, event_lead_seconds=0.0)
    assert step == 0.0


def test_overlapping_event_windows_take_the_largest_weight():
    windows = [(0.0, 100.0, 0.5), (50.0, 200.0, 1.5)]
    assert expiry_proximity(1e9, 0.0, windows, 60.0, event_lead_seconds=0.0) == pytest.approx(1.5)
    assert expiry_proximity(1e9, 0.0, windows, 10.0, event_lead_seconds=0.0) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"seconds_to_expiry": -1.0}, "seconds_to_expiry"),
        ({"oi_weight": 1.2}, "oi_weight"),
        ({"event_windows": [(10.0, 5.0)]}, r"event_windows\[0\]"),
        ({"event_windows": [(1.0,)]}, r"event_windows\[0\]"),
        ({"floor_hours": 0.0}, "floor_hours"),
    ],
)
def test_expiry_proximity_rejects_bad_input(kwargs, field):
    args = {"seconds_to_expiry": 3600.0, "oi_weight": 0.5, **kwargs}
    with pytest.raises(ValueError, match=field):
        expiry_proximity(**args)


# ---------------------------------------------------------------- book stress


def test_calm_book_has_zero_stress():
    assert book_stress(0.02, 0.02, 500, 500, 1.0, 10, 10.0) == pytest.approx(0.0)


def test_book_stress_parts():
    parts = book_stress_parts(0.04, 0.02, 250, 500, 2.0, 60, 10.0, cancel_baseline_rate=2.0)
    assert parts["spread_widening"] == pytest.approx(1.0)
    assert parts["depletion_per_minute"] == pytest.approx(0.5 / 2.0 * 60)
    assert parts["cancel_excess"] == pytest.approx(60 / (10 * 2.0) - 1)
    # Refills are not stress; an empty touch cannot deplete further.
    refill = book_stress_parts(0.02, 0.02, 800, 500, 1.0, 10, 10.0)
    assert refill["depletion_per_minute"] == 0.0
    empty = book_stress_parts(0.02, 0.02, 0, 0, 1.0, 10, 10.0)
    assert empty["depletion_per_minute"] == 0.0


def test_book_stress_weights_combine_parts():
    args = (0.04, 0.02, 250, 500, 2.0, 60, 10.0)
    assert book_stress(*args, weights=(1, 0, 0)) == pytest.approx(1.0)
    assert book_stress(*args, weights=(0, 0, 1)) == pytest.approx(5.0)
    full = book_stress(*args)
    assert full == pytest.approx(1.0 + 15.0 + 5.0)
    out = book_stress(np.array([0.02, 0.04]), 0.02, 500, 500, 1.0, 10, 10.0)
    np.testing.assert_allclose(out, [0.0, 1.0])


@pytest.mark.parametrize(
    ("index", "field"),
    [
        (1, "spread_baseline"),
        (3, "top_depth_prev"),
        (4, "dt"),
        (6, "window"),
    ],
)
def test_book_stress_rejects_bad_input(index, field):
    args = [0.02, 0.02, 500, 500, 1.0, 10, 10.0]
    args[index] = -1.0
    with pytest.raises(ValueError, match=field):
        book_stress(*args)
    with pytest.raises(ValueError, match="weights"):
        book_stress(0.02, 0.02, 500, 500, 1.0, 10, 10.0, weights=(1, 1))


# ---------------------------------------------------------------- robust scaler


def test_scaler_uses_fallbacks_until_it_has_history():
    scaler = RobustScaler(window=100, min_history=10, default_center=5.0, default_scale=2.0)
    scaler.update(np.zeros(9))
    assert not scaler.trusted
    assert scaler.transform(9.0) == pytest.approx(2.0)
    scaler.update(1.0)
    assert scaler.trusted
    # Flat history has zero IQR: the scale falls back to the default, the centre is its own.
    assert scaler.center == 0.0
    assert scaler.scale == 2.0


def test_scaler_matches_numpy_quantiles_on_its_window():
    rng = np.random.default_rng(1)
    data = rng.normal(3.0, 2.0, 500)
    scaler = RobustScaler(window=200, min_history=10, z_clip=1e6)
    scaler.update(data)
    recent = data[-200:]
    q1, med, q3 = np.quantile(recent, [0.25, 0.5, 0.75])
    assert scaler.center == pytest.approx(med)
    assert scaler.scale == pytest.approx((q3 - q1) / 1.3489795003921634)
    assert scaler.transform(med + scaler.scale) == pytest.approx(1.0)


def test_outlier_burst_barely_moves_the_scale():
    rng = np.random.default_rng(2)
    scaler = RobustScaler(window=1000, min_history=50, z_clip=4.0)
    calm = rng.normal(0.0, 1.0, 1000)
    burst = 10.0 * rng.normal(0.0, 1.0, 50) + 10.0  # an event-day burst of 10x values
    scaler.update(calm)
    before_scale, before_center = scaler.scale, scaler.center
    scaler.update(burst)
    assert abs(scaler.scale / before_scale - 1) < 0.1
    assert abs(scaler.center - before_center) < 0.1
    # An ordinary standard deviation over the same history is blown up by the burst.
    assert np.std(np.concatenate([calm, burst])) > 3 * np.std(calm)


def test_scaler_clips_z_and_applies_min_scale():
    scaler = RobustScaler(window=50, min_history=5, z_clip=3.0, min_scale=0.5)
    scaler.update([1.0, 1.0, 1.0, 1.0, 1.01])
    assert scaler.scale == 0.5
    assert scaler.transform(100.0) == 3.0
    assert scaler.transform(-100.0) == -3.0
    np.testing.assert_allclose(scaler.transform([1.0, 1.5]), [0.0, 1.0])


def test_scaler_window_forgets_old_regime():
    scaler = RobustScaler(window=100, min_history=10, z_clip=1e6)
    scaler.update(np.zeros(100) + np.linspace(-1, 1, 100))
    scaler.update(np.linspace(9, 11, 100))
    assert scaler.center == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"window": 2}, "window"),
        ({"min_history": 0}, "min_history"),
        ({"z_clip": 0.0}, "z_clip"),
        ({"default_scale": -1.0}, "default_scale"),
        ({"min_scale": -1.0}, "min_scale"),
    ],
)
def test_scaler_rejects_bad_settings(kwargs, field):
    with pytest.raises(ValueError, match=field):
        RobustScaler(**kwargs)


def test_scaler_update_rejects_nan_without_changing_state():
    scaler = RobustScaler(window=10, min_history=2)
    scaler.update([1.0, 2.0])
    with pytest.raises(ValueError, match="x"):
        scaler.update([3.0, np.nan])
    assert scaler.n_seen == 2


# ---------------------------------------------------------------- the index


def test_pure_combination_mapping_and_array_forms():
    comps = {"a": np.array([1.0, 2.0]), "b": np.array([0.5, -1.0])}
    np.testing.assert_allclose(hedge_pressure_index(comps, {"a": 2.0, "b": 1.0}), [2.5, 3.0])
    z = np.array([[1.0, 0.0, 2.0, -1.0], [0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(hedge_pressure_index(z, [1, 1, 1, 1]), [2.0, 0.0])
    with pytest.raises(ValueError, match="same keys"):
        hedge_pressure_index(comps, {"a": 1.0})
    with pytest.raises(ValueError, match="weights"):
        hedge_pressure_index(z, [1, 1, 1])


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-5, 5), min_size=4, max_size=4),
    st.lists(st.floats(0, 3), min_size=4, max_size=4),
)
def test_pure_combination_is_linear(z, w):
    comps = dict(zip(COMPONENTS, z, strict=True))
    weights = dict(zip(COMPONENTS, w, strict=True))
    assert hedge_pressure_index(comps, weights) == pytest.approx(float(np.dot(z, w)), abs=1e-9)
    doubled = {k: 2 * v for k, v in comps.items()}
    assert hedge_pressure_index(doubled, weights) == pytest.approx(
        2 * hedge_pressure_index(comps, weights), abs=1e-9
    )


def _calm_run(index: HedgePressureIndex, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        index.step(float(i), *rng.normal(0.0, 1.0, 4))


def test_spike_reads_against_history_before_it():
    index = HedgePressureIndex(window=500, min_history=50, z_clip=6.0)
    _calm_run(index, 400)
    reading = index.step(400.0, 5.0, 0.0, 0.0, 0.0)
    assert reading.z["gamma_pressure"] > 4.0
    assert reading.hpi == pytest.approx(sum(reading.z.values()))
    assert reading.raw["gamma_pressure"] == 5.0


def test_weights_change_the_index_and_zero_drops_a_component():
    heavy = HedgePressureIndex({"gamma_pressure": 3.0, "book_stress": 0.0}, min_history=10)
    plain = HedgePressureIndex(min_history=10)
    _calm_run(heavy, 200)
    _calm_run(plain, 200)
    a = heavy.step(200.0, 2.0, 0.0, 0.0, 50.0)
    b = plain.step(200.0, 2.0, 0.0, 0.0, 50.0)
    assert a.hpi == pytest.approx(
        3 * a.z["gamma_pressure"] + a.z["spot_velocity"] + a.z["expiry_proximity"]
    )
    assert a.z == b.z  # same history, same scaling: only the weights differ
    assert b.hpi - a.hpi == pytest.approx(b.z["book_stress"] - 2 * b.z["gamma_pressure"])
    assert b.z["book_stress"] > 3.0


def test_fallbacks_set_the_early_scale():
    index = HedgePressureIndex(min_history=50, fallbacks={"spot_velocity": (1.0, 4.0)})
    reading = index.step(0.0, 0.0, 9.0, 0.2, 0.0)
    assert reading.z["spot_velocity"] == pytest.approx(2.0)
    assert reading.z["expiry_proximity"] == pytest.approx(0.0)


def test_slope_of_a_linear_ramp():
    index = HedgePressureIndex(
        dict.fromkeys(COMPONENTS[1:], 0.0),
        min_history=1000,
        fallbacks={"gamma_pressure": (0.0, 1.0)},
        z_clip=100.0,
        slope_window_seconds=30.0,
    )
    readings = [index.step(float(t), 0.01 * t, 0.0, 0.0, 0.0) for t in range(100)]
    assert readings[-1].slope == pytest.approx(0.6)  # 0.01 per second = 0.6 per minute
    assert readings[0].slope == 0.0


def test_step_many_frame_and_time_order():
    index = HedgePressureIndex(min_history=5)
    n = 20
    frame = index.step_many(
        np.arange(n, dtype=float), np.zeros(n), np.ones(n), np.zeros(n), np.zeros(n)
    )
    assert len(frame) == n
    assert {"time", "hpi", "hpi_slope", "z_gamma_pressure", "raw_book_stress"} <= set(frame)
    with pytest.raises(ValueError, match="non-decreasing"):
        index.step(5.0, 0.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="unknown"):
        HedgePressureIndex({"gamma": 1.0})
    with pytest.raises(ValueError, match="book_stress"):
        index.step(30.0, 0.0, 0.0, 0.0, np.inf)
