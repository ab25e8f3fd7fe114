"""The figure of the options market in book mode (``figures/option_market.png``).

Three panels over the run's clock (hours): the quoted width (ask - bid, option ticks) by strike
of the nearest expiry's calls, each dealer's net option position (contracts, + long), and each
dealer's curtailments (one mark per curtailment, at its time).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.outputs import save_png


def width_by_strike(top: pd.DataFrame, expiry: np.ndarray) -> pd.DataFrame:
    """Quoted width (ask - bid, ticks; NaN where a side is missing) of the calls of the
    earliest expiry in ``top`` (the top-of-book table; ``expiry`` the chain's expiry time of
    each contract), one column per strike, indexed by time (seconds)."""
    calls = top[top.is_call]
    if calls.empty:
        return pd.DataFrame()
    when = expiry[calls.contract.to_numpy()]
    rows = calls[when == when.min()]
    width = (rows.ask_px - rows.bid_px).where((rows.ask_px > 0) & (rows.bid_px > 0))
    return rows.assign(width=width).pivot_table(
        index="time", columns="strike", values="width", aggfunc="first", dropna=False
    )


def option_market_figure(model, path: Path) -> None:
    """Quoted width by strike over the run, dealers' inventory and curtailments."""
    om = model.option_market
    tables = om.tables()
    top, inventory = om.top_frame(), tables["option_inventory"]
    curtailments = tables["option_curtailments"]
    fig, axes = plt.subplots(3, 1, figsize=(12, 11), sharex=True)
    widths = width_by_strike(top, np.asarray(model.chain.expiry, dtype=float))
    ax = axes[0]
    if not widths.empty:
        hours = widths.index.to_numpy() / 3600.0
        mesh = ax.pcolormesh(
            hours, widths.columns.to_numpy(), widths.to_numpy().T, shading="nearest", cmap="viridis"
        )
        fig.colorbar(mesh, ax=ax, label="quoted width (option ticks)")
    ax.set_ylabel("strike")
    ax.set_title(f"options market (book) — {model.cfg.scenario.name} (seed {model.cfg.seed})")
    dealers = sorted(inventory.dealer.unique()) if len(inventory) else []
    for d in dealers:
        rows = inventory[inventory.dealer == d]
        axes[1].plot(rows.time / 3600.0, rows.net_contracts, lw=1, label=f"dealer {d}")
    axes[1].axhline(0, color="grey", lw=0.5)
    axes[1].set_ylabel("net position (contracts)")
    if dealers:
        axes[1].legend(loc="upper left", fontsize=8)
    level = {d: i for i, d in enumerate(dealers)}
    if len(curtailments):
        axes[2].scatter(
            curtailments.time / 3600.0,
            [level.get(d, -1) for d in curtailments.dealer],
            marker="|",
            s=200,
        )
    axes[2].set_yticks(range(len(dealers)), [f"dealer {d}" for d in dealers])
    axes[2].set_ylabel(f"curtailments ({len(curtailments)})")
    axes[2].set_xlabel("hours since the first open")
    fig.tight_layout()
    save_png(fig, path, dpi=100)
    plt.close(fig)
