"""Everything a run leaves behind: summary.json, Parquet tables, the flow network and figures.

Every file goes through :mod:`experiments.outputs` (atomic writes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd

from experiments.option_report import option_market_figure
from experiments.outputs import (
    atomic_write,
    save_png,
    write_csv,
    write_json,
    write_parquet,
    write_parquet_pieces,
)
from experiments.scenarios.figures import scenario_figure
from experiments.scenarios.metrics import scenario_metrics
from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR
from market.stats.paths import minute_indices
from market.stats.stylized import max_drawdown_pct, stylized_facts


def _clean(x):
    """NaN/inf to None, recursively, so summary.json is strict JSON."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


# ---------------------------------------------------------------------------- tables
def timeseries_frame(model) -> pd.DataFrame:
    """One row per recorded interval (Mesa DataCollector model variables)."""
    return model.datacollector.get_model_vars_dataframe().reset_index(drop=True)


#: prints per piece of trades.parquet built at a time (the memory a long run's table needs)
TRADES_PIECE = 1 << 16


def trades_frame(model, start: int = 0, stop: int | None = None) -> pd.DataFrame:
    """Every print (positions ``start:stop`` of the book's log) with the populations of the
    aggressor, the resting side, buyer and seller; on a venue with an event clock (book mode)
    the first column, ``seq``, is each print's event number, the counter the option prints'
    ``seq`` is on."""
    names = np.array([*model.populations, "other"], dtype=object)
    df = pd.DataFrame(model.book.trades.columns(start, stop)).rename(
        columns={"price": "price_ticks"}
    )
    if model.venue.events is not None:
        df.insert(0, "seq", model.venue.print_seqs()[start:stop])
    df["price"] = df["price_ticks"] * model.tick
    agg_pop = model.population_of[df["aggressor_owner"].to_numpy()]
    rest_pop = model.population_of[df["resting_owner"].to_numpy()]
    df["aggressor_population"] = names[agg_pop] if len(df) else np.array([], dtype=object)
    df["resting_population"] = names[rest_pop] if len(df) else np.array([], dtype=object)
    buy_aggr = df["aggressor_side"].to_numpy() > 0
    df["buyer_population"] = np.where(
        buy_aggr, df["aggressor_population"], df["resting_population"]
    )
    df["seller_population"] = np.where(
        buy_aggr, df["resting_population"], df["aggressor_population"]
    )
    return df


# ---------------------------------------------------------------------------- flow network
def flow_network(model) -> tuple[nx.DiGraph, pd.DataFrame]:
    """Directed graph of net share volume between populations (edge: net seller -> net buyer).

    Per time window of ``model.flow_window`` seconds and for the whole run; the DataFrame lists
    every window's edges (window start in clock seconds, seller, buyer, net shares).
    """
    names = [*model.populations, "other"]
    rows = []
    total = np.zeros((len(names), len(names)), dtype=np.int64)
    for w, mat in sorted(model.flow_matrices.items()):
        total += mat
        net = mat - mat.T
        for i, j in zip(*np.nonzero(net > 0), strict=True):
            rows.append(
                {
                    "window_start": w * model.flow_window,
                    "seller": names[i],
                    "buyer": names[j],
                    "shares": int(net[i, j]),
                }
            )
    g = nx.DiGraph()
    g.add_nodes_from(names)
    net = total - total.T
    for i, j in zip(*np.nonzero(net > 0), strict=True):
        g.add_edge(names[i], names[j], shares=int(net[i, j]))
    return g, pd.DataFrame(rows, columns=["window_start", "seller", "buyer", "shares"])


def flow_summary(g: nx.DiGraph) -> dict:
    """Who absorbed whose selling: per net-selling population, its buyers by share."""
    out = {}
    for node in g.nodes:
        sold = sum(d["shares"] for _, _, d in g.out_edges(node, data=True))
        if sold:
            out[node] = {
                "net_sold": int(sold),
                "absorbed_by": {
                    b: int(d["shares"])
                    for _, b, d in sorted(
                        g.out_edges(node, data=True), key=lambda e: -e[2]["shares"]
                    )
                },
            }
    return out


# ---------------------------------------------------------------------------- summary
def _pop_figures(model) -> dict:
    out = {}
    for p, (name, members) in enumerate(model.populations.items()):
        out[name] = {
            "n_agents": len(members),
            "volume": int(model.pop_volume[p]),
            "net_flow": int(model.pop_net[p]),
        }
    return out


def summarise(model, wall_seconds: float) -> dict:
    """The run's summary (the keys are stable; README documents them)."""
    cfg = model.cfg
    n = model.state.n
    mids = model.state.mids[: n + 1]
    times = np.arange(n + 1) * model.dt
    facts = stylized_facts(times, mids) if n > 60 else {}
    ts = timeseries_frame(model)
    one_minute = mids[minute_indices(mids.size, model.dt)]
    r1 = np.diff(np.log(one_minute))
    price = {
        "open": float(mids[0]),
        "close": float(model.state.last),
        "min": float(np.nanmin(mids)),
        "max": float(np.nanmax(mids)),
        # on the last mid of each minute, like scenario_metrics.peak_to_trough_pct (a fall that
        # a minute undoes is not a drawdown)
        "max_drawdown_pct": float(max_drawdown_pct(one_minute)),
        "realised_vol_annual": float(
            np.sqrt(np.sum(r1**2) * SECONDS_PER_YEAR / max(times[-1], 1.0))
        )
        if r1.size
        else None,
        "daily_closes": list(model.closes),
        "median_spread_ticks": float(ts["spread_ticks"].median()) if len(ts) else None,
        # the fundamental value beside the price (scenario_metrics.fundamental has it over the
        # window of every price metric)
        "fundamental_open": float(cfg.market.initial_price),
        "fundamental_close": float(model.fundamental),
    }
    summary = {
        "scenario": cfg.scenario.name,
        "seed": cfg.seed,
        "days": cfg.scenario.days,
        "wall_seconds": wall_seconds,
        "n_agents": len(model.agents),
        "n_steps": int(model.steps),
        "n_book_events": int(model.book.n_events),
        "n_trades": len(model.book.trades),
        "option_contracts_traded": int(model.option_volume),
        "price": price,
        "stylized_facts": facts,
        "populations": _pop_figures(model),
        "halts": model.halt_records(),
        "conservation_residuals": model.ledger.residuals(),
    }
    summary.update(model.population_summaries())
    summary["scenario_metrics"] = scenario_metrics(model)
    return _clean(summary)


# ---------------------------------------------------------------------------- figures
def _overview_price(axes, model, ts: pd.DataFrame, hours) -> None:
    """Mid and fundamental, halts shaded, day boundaries on every panel."""
    ax = axes[0]
    ax.plot(hours, ts["mid"], color="black", lw=1.0, label="mid")
    ax.plot(hours, ts["fundamental"], color="tab:green", lw=0.8, alpha=0.7, label="fundamental")
    halted = ts["halted"].to_numpy().astype(bool)
    if halted.any():
        ax.fill_between(
            hours,
            ts["mid"].min(),
            ts["mid"].max(),
            where=halted,
            color="tab:red",
            alpha=0.15,
            step="post",
            label="halted",
        )
    for d in range(1, model.days):
        for a in axes:
            a.axvline(d * SECONDS_PER_DAY / 3600, color="grey", lw=0.5, ls=":")
    ax.set_ylabel("price")
    ax.set_title(f"hedgeloop — {model.cfg.scenario.name} (seed {model.cfg.seed})")
    ax.legend(loc="upper left", fontsize=8)


def _overview_volume(axes, ts: pd.DataFrame, hours) -> None:
    """Volume per recorded interval (shares), as adjacent bars centred on each record time.

    Drawn as one filled step outline, not one rectangle per interval: a long run has hundreds of
    thousands of intervals, and as many patches would take gigabytes to draw."""
    if len(hours):
        width = (hours[1] - hours[0]) if len(hours) > 1 else 0.01
        edges = np.append(hours - width / 2, hours[-1] + width / 2)
        axes[1].stairs(ts["volume"].to_numpy(), edges, fill=True, color="tab:blue", alpha=0.6)
    axes[1].set_ylabel("volume\n(shares)")


def _overview_flows(axes, model, ts: pd.DataFrame, hours) -> None:
    """Cumulative net flow per population (signed shares)."""
    ax = axes[2]
    for name in model.populations:
        col = f"net_{name}"
        if col in ts and model.populations[name]:
            ax.plot(hours, ts[col], lw=1.0, label=name)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("cumulative net\nflow (shares)")
    ax.legend(loc="upper left", fontsize=8, ncol=3)


def _overview_dealers(axes, ts: pd.DataFrame, hours) -> None:
    """Dealer GEX ($m per 1% move) and their hedge flow (shares) on a twin axis."""
    ax = axes[3]
    ax.plot(
        hours,
        ts["dealer_gex"] / 1e6,
        color="tab:purple",
        lw=1.0,
        label="dealer GEX, true ($m per 1%)",
    )
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("dealer GEX\n($m per 1%)")
    ax2 = ax.twinx()
    ax2.plot(
        hours,
        ts["dealer_hedge_flow"],
        color="tab:orange",
        lw=1.0,
        label="dealer hedge flow (shares)",
    )
    ax2.set_ylabel("hedge flow\n(shares)")
    lines = ax.get_lines()[:1] + ax2.get_lines()[:1]
    ax.legend(lines, [ln.get_label() for ln in lines], loc="upper left", fontsize=8)


def _overview_insurers_desk(axes, ts: pd.DataFrame, hours) -> None:
    """Insurers' demanded vs executed shares and the desk's signed fills, cumulative."""
    ax = axes[4]
    ax.plot(
        hours, ts["insurer_demanded"], color="tab:red", lw=1.0, ls="--", label="insurers demanded"
    )
    ax.plot(hours, ts["insurer_executed"], color="tab:red", lw=1.0, label="insurers executed")
    ax.plot(hours, ts["desk_filled"], color="tab:cyan", lw=1.2, label="desk filled (signed)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("cumulative\nshares")
    ax.set_xlabel("trading hours since the first open")
    ax.legend(loc="upper left", fontsize=8)


def overview_figure(model, ts: pd.DataFrame, path: Path) -> None:
    """Price and volume, net flow per population, dealer gamma and hedge flow, insurers, desk."""
    hours = ts["time"].to_numpy() / 3600.0
    fig, axes = plt.subplots(
        5, 1, figsize=(12, 14), sharex=True, gridspec_kw={"height_ratios": [3, 1.2, 2, 2, 2]}
    )
    _overview_price(axes, model, ts, hours)
    _overview_volume(axes, ts, hours)
    _overview_flows(axes, model, ts, hours)
    _overview_dealers(axes, ts, hours)
    _overview_insurers_desk(axes, ts, hours)
    fig.tight_layout()
    save_png(fig, path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------- everything
def write_trades(model, path: Path) -> None:
    """``trades.parquet``, built :data:`TRADES_PIECE` prints at a time (read back from the
    trade log's spill file where the prints are there)."""
    n_trades = len(model.book.trades)
    write_parquet_pieces(
        path,
        (
            trades_frame(model, i, i + TRADES_PIECE)
            for i in range(0, max(n_trades, 1), TRADES_PIECE)
        ),
    )


def write_flow_network(model, out: Path) -> dict:
    """``flow_network.graphml`` and ``.csv``; returns the summary's ``flow_network``."""
    g, edges = flow_network(model)
    atomic_write(out / "flow_network.graphml", lambda tmp: nx.write_graphml(g, tmp))
    write_csv(out / "flow_network.csv", edges)
    return flow_summary(g)


def _writers(model, out: Path) -> dict[str, Callable[[], object]]:
    """Every file of the output contract but summary.json, by name, in writing order: each
    a call that writes it (the flow network's returns the summary's ``flow_network``)."""
    ts = cache(lambda: timeseries_frame(model))
    scenario = model.cfg.scenario.name

    def tables() -> None:
        for name, frame in model.extra_tables().items():
            write_parquet(out / f"{name}.parquet", frame)

    writers: dict[str, Callable[[], object]] = {
        "timeseries.parquet": lambda: write_parquet(out / "timeseries.parquet", ts()),
        "trades.parquet": lambda: write_trades(model, out / "trades.parquet"),
        "flow_network": lambda: write_flow_network(model, out),
        "population tables": tables,
        "figures/overview.png": lambda: overview_figure(
            model, ts(), out / "figures" / "overview.png"
        ),
        f"figures/{scenario}.png": lambda: scenario_figure(
            model, ts(), out / "figures" / f"{scenario}.png"
        ),
    }
    if getattr(model, "option_market", None) is not None:
        writers["figures/option_market.png"] = lambda: option_market_figure(
            model, out / "figures" / "option_market.png"
        )
    return writers


def write_outputs(model, summary: dict, out: Path) -> None:
    """Write the output contract of a run into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, write in _writers(model, out).items():
        written = write()
        if name == "flow_network":
            summary["flow_network"] = written
    write_json(out / "summary.json", summary)


def _write_what_was_simulated(model, out: Path) -> tuple[list[str], dict | None]:
    """Every output of :func:`_writers` that the state of a failed run allows, each on its
    own (one that fails is skipped): the names written, and the flow network's summary."""
    out.mkdir(parents=True, exist_ok=True)
    written, flows = [], None
    for name, write in _writers(model, out).items():
        try:
            result = write()
        except Exception:  # the state that made the run fail may break this output too
            continue
        written.append(name)
        if name == "flow_network":
            flows = result
    return written, flows


def write_failure(model, summary: dict | None, exc: BaseException, out: Path, wall: float) -> None:
    """Leave ``summary.json`` in ``out`` for a run that failed after it started.

    The summary is what was computed (``summary`` if the run got that far, else as much of
    :func:`summarise` as the model's state allows, else the run's identity and counts) with
    ``status: "failed"`` and ``error`` (``type``, ``message``). A successful run's summary has
    no ``status`` key. The files :func:`write_outputs` wrote before the failure are kept. A run
    that failed before its summary (a crash mid-simulation) also gets every table and figure
    its state allows, from the first step to the failure (the time series, every print, the
    flow network, ...), listed in ``outputs_written``.
    """
    partial = None
    if summary is None:
        partial = _write_what_was_simulated(model, out)
        try:
            summary = summarise(model, wall_seconds=wall)
        except Exception:  # the state that made the run fail may break the summary too
            cfg = model.cfg
            summary = {
                "scenario": cfg.scenario.name,
                "seed": cfg.seed,
                "days": cfg.scenario.days,
                "wall_seconds": wall,
                "n_steps": int(model.steps),
                "n_trades": len(model.book.trades),
            }
    summary = {
        **summary,
        "status": "failed",
        "error": {"type": type(exc).__name__, "message": str(exc)},
    }
    if partial is not None:
        summary["outputs_written"], flows = partial
        if flows is not None:
            summary["flow_network"] = flows
    write_json(out / "summary.json", _clean(summary))
