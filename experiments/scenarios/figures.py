"""Each stress scenario's figure (``figures/<scenario>.png``): the panels that tell its story.

Time on the x-axis is trading hours since the first open; the stress window is shaded orange and
every halt or pause red. Prices are the book mid (currency); flows are signed shares (+ bought).
Every figure's price panel shows the mid and the fundamental value together, so a fall that the
fundamental value made is told apart from one the market made.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.outputs import save_png
from experiments.scenarios.metrics import halt_list, pin_strike_of
from experiments.scenarios.price_paths import ScenarioMetricsError
from market.exchange.clock import SECONDS_PER_DAY
from market.exchange.rules import circuit_breaker_levels


def _hours(t) -> np.ndarray:
    return np.asarray(t, dtype=float) / 3600.0


def _shade_halts(ax, model, color: str = "tab:red") -> None:
    for i, h in enumerate(halt_list(model)):
        ax.axvspan(
            _hours(h["time"]),
            _hours(max(h["end"], h["time"] + model.dt)),
            color=color,
            alpha=0.25,
            lw=0,
            label="halt / pause" if i == 0 else None,
        )


def _shade_window(axes, model) -> None:
    win = list(model.cfg.scenario.stress_window)
    if win:
        for ax in axes:
            ax.axvspan(_hours(win[0]), _hours(win[1]), color="tab:orange", alpha=0.06, lw=0)


def _price_panel(ax, model, ts: pd.DataFrame) -> None:
    """The mid and the fundamental value together: what the market did against what F did."""
    h = _hours(ts["time"])
    ax.plot(h, ts["mid"], color="black", lw=0.9, label="mid")
    ax.plot(h, ts["fundamental"], color="tab:green", lw=0.8, alpha=0.7, label="fundamental")
    for d in range(1, model.days):
        ax.axvline(d * SECONDS_PER_DAY / 3600.0, color="grey", lw=0.5, ls=":")
    _shade_halts(ax, model)
    ax.set_ylabel("price")


def _crash_panels(fig, model, ts) -> list:
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2, 1.3]})
    h = _hours(ts["time"])
    _price_panel(axes[0], model, ts)
    ax = axes[1]
    ax.plot(h, ts["insurer_demanded"], color="tab:red", ls="--", lw=1.0, label="demanded")
    ax.plot(h, ts["insurer_executed"], color="tab:red", lw=1.2, label="executed")
    ax.fill_between(
        h,
        ts["insurer_executed"],
        ts["insurer_demanded"],
        color="tab:red",
        alpha=0.15,
        label="backlog",
    )
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("insurers, cumulative\nshares (- = sold)")
    axes[2].plot(h, ts["volume"], color="tab:blue", lw=0.6)
    axes[2].set_ylabel("volume per\nrecord (shares)")
    return axes


def _flash_panels(fig, model, ts) -> list:
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.5, 1.5, 1.5]})
    win = list(model.cfg.scenario.stress_window)
    view = ts
    if win:  # the afternoon around the event, where the story is
        view = ts[(ts["time"] >= win[0] - 3600.0) & (ts["time"] <= win[1] + 3600.0)]
    h = _hours(view["time"])
    _price_panel(axes[0], model, view)
    ax = axes[1]
    ax.plot(h, view["lp_quoting"], color="tab:purple", lw=1.0, label="LPs quoting")
    ax.set_ylabel("LPs quoting")
    ax2 = ax.twinx()
    ax2.plot(h, view["net_liquidity"], color="tab:olive", lw=1.0, label="LP net inventory")
    ax2.set_ylabel("LP inventory\n(shares)")
    ax.legend(
        [*ax.get_lines(), *ax2.get_lines()],
        ["LPs quoting", "LP net inventory"],
        loc="lower left",
        fontsize=8,
    )
    axes[2].plot(h, view["desk_filled"], color="tab:cyan", lw=1.2)
    axes[2].set_ylabel("desk filled\n(shares)")
    axes[3].plot(h, view["bid_depth"], color="tab:green", lw=0.8, label="bid depth (5 ticks)")
    axes[3].plot(h, view["ask_depth"], color="tab:red", lw=0.8, label="ask depth (5 ticks)")
    axes[3].set_ylabel("depth\n(shares)")
    axes[3].legend(loc="upper left", fontsize=8)
    return axes


def _covid_panels(fig, model, ts) -> list:
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.6, 1.6]})
    _price_panel(axes[0], model, ts)
    cb = model.rules.get("circuit_breakers")
    if cb is not None:
        prev_closes = [model.cfg.market.initial_price, *model.closes][: model.days]
        for d, prev in enumerate(prev_closes):
            lv = circuit_breaker_levels(prev, cb.pcts)
            x = [d * SECONDS_PER_DAY / 3600.0, (d + 1) * SECONDS_PER_DAY / 3600.0]
            for i, style in zip(range(2), (":", "--"), strict=True):
                axes[0].plot(
                    x,
                    [lv[i]] * 2,
                    color="tab:red",
                    lw=0.8,
                    ls=style,
                    label=f"L{i + 1} ({cb.pcts[i]:.0%})" if d == 0 else None,
                )
    h = _hours(ts["time"])
    axes[1].plot(h, ts["dealer_gex"] / 1e6, color="tab:purple", lw=1.0)
    axes[1].axhline(0, color="grey", lw=0.5)
    axes[1].set_ylabel("dealer GEX\n($m per 1%)")
    axes[2].plot(h, ts["dealer_hedge_flow"], color="tab:orange", lw=1.0)
    axes[2].set_ylabel("dealer hedge flow\n(cum. shares)")
    return axes


def _squeeze_panels(fig, model, ts) -> list:
    grid = fig.add_gridspec(3, 2, width_ratios=[3, 1.2], height_ratios=[3, 1.6, 1.6])
    ax0 = fig.add_subplot(grid[0, 0])
    axes = [ax0, fig.add_subplot(grid[1, 0], sharex=ax0), fig.add_subplot(grid[2, 0], sharex=ax0)]
    _price_panel(axes[0], model, ts)
    h = _hours(ts["time"])
    axes[1].plot(h, ts["dealer_hedge_flow"], color="tab:orange", lw=1.0)
    axes[1].set_ylabel("dealer hedge flow\n(cum. shares)")
    axes[2].plot(h, ts["dealer_gex"] / 1e6, color="tab:purple", lw=1.0)
    axes[2].axhline(0, color="grey", lw=0.5)
    axes[2].set_ylabel("dealer GEX\n($m per 1%)")
    oi_ax = fig.add_subplot(grid[:, 1])
    frame = model.chain.to_frame()
    calls = frame[frame["is_call"]].groupby("strike")["open_interest"].sum()
    oi_ax.barh(
        calls.index,
        calls.to_numpy(),
        height=0.6 * np.min(np.diff(calls.index)) if calls.size > 1 else 1.0,
        color="tab:blue",
    )
    oi_ax.axhline(model.state.last, color="black", lw=0.8, ls="--", label="last price")
    oi_ax.set_xlabel("call open interest at the end\n(contracts, live expiries)")
    oi_ax.set_ylabel("strike")
    oi_ax.legend(loc="lower right", fontsize=8)
    return axes


def _pinning_panels(fig, model, ts) -> list:
    axes = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]})
    strike = pin_strike_of(model)
    last = ts[ts["time"] >= ts["time"].iloc[-1] - 3600.0]
    h = _hours(last["time"])
    axes[0].plot(h, last["mid"], color="black", lw=0.9, label="mid (last hour)")
    axes[0].plot(h, last["fundamental"], color="tab:green", lw=0.8, alpha=0.7, label="fundamental")
    if strike is not None:
        axes[0].axhline(strike, color="tab:red", lw=1.0, ls="--", label=f"pin strike {strike:g}")
    axes[0].set_ylabel("price")
    h_all = _hours(ts["time"])
    axes[1].plot(h_all, ts["dealer_gex"] / 1e6, color="tab:purple", lw=1.0)
    axes[1].axhline(0, color="grey", lw=0.5)
    axes[1].set_ylabel("dealer GEX\n($m per 1%)")
    return axes


def _generic_panels(fig, model, ts) -> list:
    axes = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    _price_panel(axes[0], model, ts)
    h = _hours(ts["time"])
    for name, members in model.populations.items():
        if members and f"net_{name}" in ts:
            axes[1].plot(h, ts[f"net_{name}"], lw=1.0, label=name)
    axes[1].axhline(0, color="grey", lw=0.5)
    axes[1].set_ylabel("cumulative net\nflow (shares)")
    axes[1].legend(loc="upper left", fontsize=8, ncol=3)
    return axes


#: scenario name -> the panels that tell its story (others get the generic price + flows)
FIGURE_PANELS = {
    "crash_1987": _crash_panels,
    "flash_2010": _flash_panels,
    "covid_2020": _covid_panels,
    "gamma_squeeze": _squeeze_panels,
    "expiry_pinning": _pinning_panels,
}


def scenario_figure(model, ts: pd.DataFrame, path) -> None:
    """Draw the scenario's story into ``path`` (PNG, written atomically)."""
    if ts is None or len(ts) < 2:
        raise ScenarioMetricsError("ts must hold at least two recorded rows to draw a figure")
    name = model.cfg.scenario.name
    panels = FIGURE_PANELS.get(name, _generic_panels)
    fig = plt.figure(figsize=(12, 9))
    axes = panels(fig, model, ts)
    _shade_window(axes, model)
    arm = getattr(model.cfg, "arm", "treatment")
    axes[0].set_title(f"hedgeloop — {name}, {arm} arm (seed {model.cfg.seed})")
    axes[0].legend(loc="best", fontsize=8)
    axes[-1].set_xlabel("trading hours since the first open")
    fig.tight_layout()
    save_png(fig, Path(path), dpi=110)
    plt.close(fig)
