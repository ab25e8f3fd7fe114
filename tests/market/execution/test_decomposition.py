"""Cost decomposition of recorded desk frames, without a simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from market.execution.decomposition import (
    add_child_cost_inputs,
    add_final_mid,
    decompose_frames,
    mid_at,
)

TIMES = np.arange(0.0, 101.0)  # one mid a second
MIDS = 100.0 + 0.01 * TIMES  # the mid drifts up one cent a second


def test_mid_at_reads_the_last_mid_at_or_before_and_clamps_to_the_tape():
    assert mid_at(TIMES, MIDS, 10.0) == pytest.approx(100.10)
    assert mid_at(TIMES, MIDS, 10.5) == pytest.approx(100.10)
    np.testing.assert_allclose(mid_at(TIMES, MIDS, [-5.0, 500.0]), [100.0, 101.0])


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parent 0 (a buy of 300) filled by two children; parent 1 (a sell of 100) never filled."""
    children = pd.DataFrame(
        {
            "child_id": [0, 1],
            "parent_id": [0, 0],
            "side": [1, 1],
            "qty": [100, 200],
            "filled": [100, 200],
            "passive_filled": [100, 0],
            "arrival_mid": [100.0, 100.05],
            "half_spread": [0.01, 0.01],
            "avg_price": [100.0, 100.08],
            "end_time": [3.0, math.nan],
        }
    )
    parents = pd.DataFrame(
        {
            "parent_id": [0, 1],
            "side": [1, -1],
            "qty": [300, 100],
            "arrival_mid": [100.0, 100.2],
            "end_time": [8.0, math.nan],
        }
    )
    add_child_cost_inputs(
        children, {0: 100.0, 1: 100.2}, TIMES, MIDS, mid_after_s=10.0, horizons=[5.0, 200.0]
    )
    add_final_mid(parents, TIMES, MIDS)
    return children, parents


def test_cost_inputs_from_the_tape():
    children, parents = frames()
    np.testing.assert_allclose(children["aggressive_share"], [0.0, 1.0])
    # the first child ended at 3 s, the working one at the end of the tape (100 s)
    np.testing.assert_allclose(children["mid_after"], [100.13, 101.0])
    assert children["markout_5s"].notna().iloc[0] and math.isnan(children["markout_200s"].iloc[0])
    np.testing.assert_allclose(children["shortfall_bps"], [0.0, 8.0])
    np.testing.assert_allclose(parents["final_mid"], [100.08, 101.0])


def test_parent_costs_add_up_to_the_shortfall_and_unfilled_parents_are_opportunity():
    children, parents = frames()
    kids, pars = decompose_frames(children, parents)
    assert len(kids) == 2 and "cost_total" in kids
    filled, unfilled = pars.iloc[0], pars.iloc[1]
    assert filled["cost_total"] == pytest.approx(filled["is_bps"])
    assert filled["fill_rate"] == pytest.approx(1.0)
    # a sell that never traded while the price rose 0.8: opportunity gain, a negative cost
    assert unfilled["fill_rate"] == 0.0
    assert unfilled["cost_opportunity"] == pytest.approx(-1e4 * 0.8 / 100.2)
    assert unfilled["cost_total"] == unfilled["is_bps"] == unfilled["cost_opportunity"]


def test_bad_inputs_are_refused():
    children, parents = frames()
    with pytest.raises(ValueError, match="expected_perm_bps"):
        decompose_frames(children, parents, expected_perm_bps=[1.0])
    with pytest.raises(ValueError, match="hpi"):
        decompose_frames(children, parents, betas=[1.0, 0.0, 0.0])
