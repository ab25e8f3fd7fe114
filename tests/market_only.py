"""Models of the order-book populations alone (background traders and liquidity providers), for
tests that must see those agents without option, insurer or desk flow."""

from __future__ import annotations

import pytest

from experiments.config import RunConfig
from experiments.model import HedgeLoopModel
from market.exchange.clock import SECONDS_PER_YEAR


def book_only_config(seed: int, n_background: int, n_liquidity: int) -> RunConfig:
    """Background traders and liquidity providers only: nothing else trades."""
    cfg = RunConfig(seed=seed, progress=False)
    cfg.agents.customers.n = 0
    cfg.agents.dealers.n = 0
    cfg.agents.insurers.n = 0
    cfg.desk.enabled = False
    cfg.agents.background.n = n_background
    cfg.agents.liquidity.n = n_liquidity
    return cfg


def force_vol(model: HedgeLoopModel, vol: float) -> None:
    """Make the model's EWMA volatility read ``vol`` (annualised)."""
    st = model.state
    st._var = vol**2 * st._vol_sample / SECONDS_PER_YEAR
    assert st.vol == pytest.approx(vol)
