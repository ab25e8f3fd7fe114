"""What a stress scenario is judged by: its metrics (for summary.json).

:func:`scenario_metrics` reads a finished :class:`experiments.model.HedgeLoopModel` and returns a
dict with stable names (the keys of ``scenario.reference`` in the scenario configs are these
names, flattened with dots, e.g. ``insurers.executed_share_at_max_backlog``). Every run's
summary.json carries it under ``"scenario_metrics"``; :mod:`experiments.scenarios.figures` draws
each scenario's figure. The price and fundamental figures are measured in
:mod:`experiments.scenarios.price_paths`; the pure path maths (falls, rallies, retraces) is
:mod:`market.stats.paths`.

Conventions, stated once:

- Prices are the book mid, one per step; a step's mid is dated at the end of the step. Falls,
  rallies, retraces, window returns, lows and volatilities are measured on the **one-minute
  path**: the last mid of each minute (:func:`market.stats.paths.minute_indices`), so a spike
  that a minute undoes (a one-second print through a thin book) is not a crash.
- ``F`` is the fundamental value (the model's ``fundamental``), read from the recorded rows onto
  the same one-minute path (exact when ``market.record_interval`` divides a minute).
- Returns and moves are percentages, signed: negative = the price fell. ``peak_to_trough_pct`` is
  therefore <= 0 and ``max_rally_pct`` >= 0.
- Volatilities are annualised with the trading-time year of :mod:`market.exchange.clock`, from
  one-minute log returns of the mid.
- Shares are signed: + bought, - sold (side +1 buy / -1 sell). Currency values of flows keep the
  sign of the shares (a sale is negative).
- GEX is the dealers' dollar gamma per 1% move from their true positions (currency, + = long).
- Time is clock seconds since the first open (``market.exchange.clock``); durations in seconds.

The metric names (top level unless a section is given):

``open``, ``close`` (currency); ``return_pct``; ``peak_to_trough_pct``, ``peak_time_s``,
``trough_time_s``, ``time_to_trough_s``; ``retrace_pct`` (share of the fall recovered within 30
minutes of the low, %); ``max_rally_pct``; ``worst_5min_return_pct``; ``daily_returns_pct``
(close to close, day 0 against the initial price), ``worst_day_pct``, ``worst_day``,
``best_day_pct``; ``intraday_low_pct`` (lowest mid against the previous close, over all days);
``worst_day_close_above_low_pct`` (how far the worst day closed above its own low, %; 0 = closed
at the low); ``peak_to_trough_in_window_pct`` and ``worst_5min_return_in_window_pct`` (the same,
inside ``scenario.stress_window`` only; NaN without one).

- ``fundamental``: F beside each price metric, over the same window (the same two minutes the
  price metric is measured between). For a window return (``return_pct``,
  ``worst_5min_return_pct``, ``worst_5min_return_in_window_pct``, ``worst_day_pct``,
  ``intraday_low_pct`` (previous close to the minute of the low)) F's move over it. For a fall or
  rally (``peak_to_trough_pct``, ``peak_to_trough_in_window_pct``, ``max_rally_pct``) F's own
  largest fall (<= 0) or rise (>= 0) inside the window, and F's move between the same two times
  as ``<name>_move_pct`` (``peak_to_trough_move_pct``, ...). ``retrace_pct``: F's move from the
  low to the best price of the retrace, in the price's currency, as % of the price's fall (the
  part of the retrace F accounts for). Also ``open``, ``close`` (currency),
  ``daily_returns_pct`` (F's close-to-close moves), and ``r2_30m``, ``r2_1d``: R² of the price's
  log returns on F's over non-overlapping 30-minute and one-day windows (the daily one only with
  at least 5 days; NaN otherwise). Kyle (1985, Econometrica 53:1315) and Black (1986, J. Finance
  41:529) are the yardsticks: in real markets F explains only part of the price's moves
  (30-minute R² of roughly 0.2-0.5), so a price that is F plus small noise shows R² near 1.
- ``net_of_fundamental``: each of the price metrics above named in ``fundamental`` (and
  ``retrace_pct``), minus F's move over its window, in percentage points: exactly
  ``<price metric> - fundamental.<name>`` for window returns and
  ``<price metric> - fundamental.<name>_move_pct`` for falls and rallies (0 = the price did what
  F did; a crash with ``net_of_fundamental.peak_to_trough_pct`` near 0 is F's news, not the
  market's).

- ``halts``: every halt or pause (``rule``, ``level`` (circuit breakers; else null), ``time``,
  ``end``, ``length_s``, ``price`` (trigger, currency), ``level_price`` (the circuit-breaker
  level's price that day)); ``n_halts``, ``n_circuit_breaker_halts``, ``n_stop_logic_pauses``,
  ``n_luld_pauses``, ``first_halt_time_s``.
- ``vol``: ``in_window``, ``out_window``, ``ratio`` (inside / outside ``scenario.stress_window``).
- ``volume``: ``in_window_per_s``, ``out_window_per_s``, ``ratio`` (shares per second).
- ``populations.<name>``: ``volume``, ``net_flow``, ``net_flow_in_window`` (shares).
- ``dealers``: ``hedge_flow``, ``hedge_flow_in_window`` (signed shares bought to hedge),
  ``hedge_trades``, ``gex_start``, ``gex_min``, ``gex_max``, ``gex_end``,
  ``hedge_flow_return_corr`` (correlation of 5-minute hedge flow with 5-minute returns; > 0 =
  buying rallies and selling dips, the short-gamma amplifier).
- ``insurers``: ``demanded``, ``executed``, ``backlog`` (shares at the end), ``demanded_value``
  and ``executed_value`` (those shares marked at the final close, currency), ``executed_cash``
  (currency actually paid for the trades, signed like the shares), ``max_backlog`` (the backlog
  of largest size, signed shares) and ``max_backlog_value`` (marked at the mid then),
  ``max_backlog_time_s``, ``executed_share_at_max_backlog`` (executed / demanded then; the
  1987 "$4 bn of $12 bn" figure), ``sell_share_in_window_pct``
  (insurers' sales as % of all shares traded in the stress window), ``demanded_at_close`` and
  ``executed_at_close`` (per day).
- ``desk``: ``qty``, ``filled``, ``completion``, ``slippage_bps`` (fill-weighted implementation
  shortfall against each parent's arrival mid, positive = cost), ``duration_s`` (first arrival to
  the last fill), ``filled_by_trough_share`` (share of the parent quantity filled by the trough),
  ``participation_realised`` (desk fills / market volume while it worked).
- ``liquidity``: ``withdrawals``, ``dumps`` / ``dumped_shares`` (hot-potato market orders past
  the inventory limit, and their shares), ``min_quoting``, ``max_abs_net_inventory`` (shares),
  ``bid_depth_min_ratio`` (lowest bid depth within 5 ticks in the stress window / its median
  before the window).
- ``pin``: ``strike``, ``close_distance_pct`` (final close against the strike),
  ``abs_distance_pct``, ``last_hour_mean_abs_distance_pct``, ``pull_to_strike_bp`` (how much
  closer to the strike the close is than the fundamental value, basis points; > 0 = the close was
  drawn toward the strike, the pinning effect); F beside them: ``fundamental_distance_pct``,
  ``fundamental_abs_distance_pct``, ``last_hour_fundamental_mean_abs_distance_pct``, and
  ``close_distance_net_pct`` (``close_distance_pct - fundamental_distance_pct``). The strike is
  ``scenario.pin_strike``
  or else the strike of largest open interest among the contracts still listed at the end of the
  run (the nearest expiry that has any); ``None`` when neither exists.

A figure or section that does not apply (no insurers, no stress window, ...) is NaN or an empty
value, never a made-up number; summary.json turns NaN into ``null``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from experiments.scenarios.price_paths import FIVE_MINUTES, NAN, RunPaths, path_section
from market.exchange.clock import SECONDS_PER_DAY
from market.exchange.rules import circuit_breaker_levels
from market.stats.paths import annualised_vol


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 3 or np.std(x) == 0.0 or np.std(y) == 0.0:
        return NAN
    return float(np.corrcoef(x, y)[0, 1])


def halt_list(model) -> list[dict]:
    """Every halt or pause, in time order, with its rule, level, time, end and length.

    Circuit-breaker halts come from the rule's own records (level, trigger price, the level's
    price that day); stop-logic and LULD pauses from the rule events, each ended by the rule's
    next ``reopen`` event (a pause still in force at the end lasts to the end of the run).
    """
    end_of_run = float(model.now + model.dt)
    out: list[dict] = []
    for name, rule in model.rules.items():
        halts = getattr(rule, "halts", None)
        if halts is not None:
            for h in halts:
                day = int(h.start // SECONDS_PER_DAY)
                prev = model.cfg.market.initial_price if day == 0 else model.closes[day - 1]
                level_price = float(circuit_breaker_levels(prev, rule.pcts)[h.level - 1])
                end = float(h.end) if h.end is not None else min(h.scheduled_end, end_of_run)
                out.append(
                    {
                        "rule": name,
                        "level": int(h.level),
                        "time": float(h.start),
                        "end": end,
                        "length_s": end - float(h.start),
                        "price": float(h.trigger_price),
                        "level_price": level_price,
                    }
                )
            continue
        events = list(getattr(rule, "events", []))
        for i, ev in enumerate(events):
            if ev.kind not in ("pause", "halt"):
                continue
            reopen = next((e for e in events[i + 1 :] if e.kind == "reopen"), None)
            end = float(reopen.time) if reopen is not None else end_of_run
            out.append(
                {
                    "rule": name,
                    "level": None,
                    "time": float(ev.time),
                    "end": end,
                    "length_s": end - float(ev.time),
                    "price": None if ev.price is None else float(ev.price),
                    "level_price": None,
                }
            )
    return sorted(out, key=lambda h: h["time"])


def _halt_metrics(model) -> dict:
    halts = halt_list(model)
    count = {
        r: sum(h["rule"] == r for h in halts) for r in ("circuit_breakers", "stop_logic", "luld")
    }
    return {
        "halts": halts,
        "n_halts": len(halts),
        "n_circuit_breaker_halts": count["circuit_breakers"],
        "n_stop_logic_pauses": count["stop_logic"],
        "n_luld_pauses": count["luld"],
        "first_halt_time_s": halts[0]["time"] if halts else NAN,
    }


def _window_metrics(run: RunPaths) -> dict:
    p, t = run.p1, run.t1
    r = np.diff(np.log(p))
    inside = run.in_window(t[1:])
    vol_in = annualised_vol(r[inside]) if run.window else NAN
    vol_out = annualised_vol(r[~inside])
    v = run.volumes[1:]
    tv = run.times[1:]
    vin = run.in_window(tv)
    per_s_in = float(v[vin].sum() / (vin.sum() * run.dt)) if run.window and vin.any() else NAN
    per_s_out = float(v[~vin].sum() / ((~vin).sum() * run.dt)) if (~vin).any() else NAN
    return {
        "vol": {
            "in_window": vol_in,
            "out_window": vol_out,
            "ratio": vol_in / vol_out if vol_out and vol_out > 0 else NAN,
        },
        "volume": {
            "in_window_per_s": per_s_in,
            "out_window_per_s": per_s_out,
            "ratio": per_s_in / per_s_out if per_s_out and per_s_out > 0 else NAN,
        },
    }


def _window_trades(run: RunPaths) -> dict:
    """Shares each population bought and sold inside the stress window (``bought``, ``sold``:
    int64 by population index, the last "other") and the window's whole volume (``total``),
    reduced a piece of the trade log at a time, so no column of a long run is held whole.
    All zero without a stress window (nothing is read then)."""
    model = run.model
    n_groups = len(model.populations) + 1
    bought = np.zeros(n_groups, dtype=np.int64)
    sold = np.zeros(n_groups, dtype=np.int64)
    if run.window is not None:
        group = model.population_of
        for cols in model.book.trades.column_pieces():
            inside = run.in_window(cols["time"])
            qty = cols["qty"][inside]
            aggr_buy = cols["aggressor_side"][inside] > 0
            aggr, rest = cols["aggressor_owner"][inside], cols["resting_owner"][inside]
            np.add.at(bought, group[np.where(aggr_buy, aggr, rest)], qty)
            np.add.at(sold, group[np.where(aggr_buy, rest, aggr)], qty)
    return {"bought": bought, "sold": sold, "total": int(bought.sum())}


def _population_metrics(run: RunPaths, trades: dict) -> dict:
    model = run.model
    out = {}
    for p, name in enumerate(model.populations):
        bought, sold = trades["bought"][p], trades["sold"][p]
        out[name] = {
            "volume": int(model.pop_volume[p]),
            "net_flow": int(model.pop_net[p]),
            "net_flow_in_window": int(bought - sold) if run.window else None,
        }
    return out


def _binned(ts: pd.DataFrame, column: str, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Change of ``column`` and log return of the mid per bin of ``seconds`` (timeseries rows)."""
    t = ts["time"].to_numpy(dtype=float)
    edges = np.arange(0.0, t[-1] + seconds, seconds)
    idx = np.searchsorted(t, edges, side="right") - 1
    idx = np.unique(idx[idx >= 0])
    vals = ts[column].to_numpy(dtype=float)[idx]
    mids = ts["mid"].to_numpy(dtype=float)[idx]
    return np.diff(vals), np.diff(np.log(mids))


def _dealer_metrics(run: RunPaths) -> dict:
    members = run.model.populations.get("dealers", [])
    ts = run.ts
    if not members or ts.empty:
        return dict.fromkeys(
            (
                "hedge_flow",
                "hedge_flow_in_window",
                "hedge_trades",
                "gex_start",
                "gex_min",
                "gex_max",
                "gex_end",
                "hedge_flow_return_corr",
            ),
            NAN,
        )
    gex = ts["dealer_gex"].to_numpy(dtype=float)
    flow = ts["dealer_hedge_flow"].to_numpy(dtype=float)
    t = ts["time"].to_numpy(dtype=float)
    inside = np.flatnonzero(run.in_window(t))
    in_window = float(flow[inside[-1]] - flow[max(inside[0] - 1, 0)]) if inside.size else NAN
    dflow, ret = _binned(ts, "dealer_hedge_flow", FIVE_MINUTES) if len(ts) > 2 else ([], [])
    return {
        "hedge_flow": float(sum(d.hedge_flow for d in members)),
        "hedge_flow_in_window": in_window,
        "hedge_trades": int(sum(d.hedge_trades for d in members)),
        "gex_start": float(gex[0]),
        "gex_min": float(gex.min()),
        "gex_max": float(gex.max()),
        "gex_end": float(gex[-1]),
        "hedge_flow_return_corr": _corr(np.asarray(dflow), np.asarray(ret)),
    }


def _insurer_metrics(run: RunPaths, trades: dict) -> dict:
    model = run.model
    members = model.populations.get("insurers", [])
    keys = (
        "demanded",
        "executed",
        "backlog",
        "demanded_value",
        "executed_value",
        "executed_cash",
        "max_backlog",
        "max_backlog_value",
        "max_backlog_time_s",
        "executed_share_at_max_backlog",
        "sell_share_in_window_pct",
    )
    if not members:
        return {**dict.fromkeys(keys, NAN), "demanded_at_close": [], "executed_at_close": []}
    ts = run.ts
    dem = ts["insurer_demanded"].to_numpy(dtype=float)
    exe = ts["insurer_executed"].to_numpy(dtype=float)
    mid = ts["mid"].to_numpy(dtype=float)
    t = ts["time"].to_numpy(dtype=float)
    backlog = dem - exe
    at = int(np.argmax(np.abs(backlog)))
    close = float(model.state.last)
    led = model.ledger
    cash_change = sum(led.cash[m.account] / 100.0 - m.initial_cash for m in members)
    p = list(model.populations).index("insurers")
    total, sold = trades["total"], trades["sold"][p]
    closes = [(d + 1) * SECONDS_PER_DAY - run.dt for d in range(len(model.closes))]
    rows = np.clip(np.searchsorted(t, closes, side="right") - 1, 0, len(t) - 1)
    return {
        "demanded": float(sum(m.demanded for m in members)),
        "executed": float(sum(m.executed for m in members)),
        "backlog": float(sum(m.backlog for m in members)),
        "demanded_value": float(sum(m.demanded for m in members) * close),
        "executed_value": float(sum(m.executed for m in members) * close),
        # selling raises cash: the signed value of the trades is minus the cash received
        "executed_cash": float(-cash_change),
        "max_backlog": float(backlog[at]),
        "max_backlog_value": float(backlog[at] * mid[at]),
        "max_backlog_time_s": float(t[at]) if backlog[at] != 0 else NAN,
        "executed_share_at_max_backlog": float(exe[at] / dem[at]) if dem[at] != 0 else NAN,
        "sell_share_in_window_pct": float(100.0 * sold / total) if run.window and total else NAN,
        "demanded_at_close": [float(dem[i]) for i in rows],
        "executed_at_close": [float(exe[i]) for i in rows],
    }


def _desk_metrics(run: RunPaths, trough_time: float) -> dict:
    members = run.model.populations.get("desk", [])
    parents = [p for d in members for p in d.parents]
    keys = (
        "qty",
        "filled",
        "completion",
        "slippage_bps",
        "duration_s",
        "filled_by_trough_share",
        "participation_realised",
    )
    if not parents:
        return dict.fromkeys(keys, NAN)
    qty = sum(p.qty for p in parents)
    filled = sum(p.filled for p in parents)
    cost = sum(p.slippage_bps * p.filled for p in parents if p.filled)
    fills = [f for p in parents for f in p.fills]  # (time, qty, price)
    start = min(p.arrival_time for p in parents)
    last = max((f[0] for f in fills), default=NAN)
    by_trough = (
        sum(f[1] for f in fills if f[0] <= trough_time) if math.isfinite(trough_time) else NAN
    )
    participation = NAN
    if fills:
        worked = (run.times > start) & (run.times <= last + run.dt)
        market = run.volumes[worked].sum()
        participation = filled / market if market > 0 else NAN
    return {
        "qty": float(qty),
        "filled": float(filled),
        "completion": filled / qty,
        "slippage_bps": cost / filled if filled else NAN,
        "duration_s": float(last - start) if fills else NAN,
        "filled_by_trough_share": by_trough / qty if math.isfinite(by_trough) else NAN,
        "participation_realised": participation,
    }


def _liquidity_metrics(run: RunPaths) -> dict:
    members = run.model.populations.get("liquidity", [])
    ts = run.ts
    if not members or ts.empty:
        return dict.fromkeys(
            (
                "withdrawals",
                "dumps",
                "dumped_shares",
                "min_quoting",
                "max_abs_net_inventory",
                "bid_depth_min_ratio",
            ),
            NAN,
        )
    t = ts["time"].to_numpy(dtype=float)
    depth = ts["bid_depth"].to_numpy(dtype=float)
    ratio = NAN
    if run.window is not None:
        before = depth[t < run.window[0]]
        inside = depth[run.in_window(t)]
        if before.size and inside.size and np.median(before) > 0:
            ratio = float(inside.min() / np.median(before))
    return {
        "withdrawals": int(sum(m.n_withdrawals for m in members)),
        "dumps": int(sum(m.n_dumps for m in members)),
        "dumped_shares": int(sum(m.dumped_shares for m in members)),
        "min_quoting": float(ts["lp_quoting"].min()),
        "max_abs_net_inventory": float(np.abs(ts["net_liquidity"].to_numpy(dtype=float)).max()),
        "bid_depth_min_ratio": ratio,
    }


def pin_strike_of(model) -> float | None:
    """The strike the close is compared with: ``scenario.pin_strike``, else the strike of the
    largest open interest in the nearest expiry still listed; ``None`` if there is neither."""
    if model.cfg.scenario.pin_strike is not None:
        return float(model.cfg.scenario.pin_strike)
    chain = model.chain
    oi = np.asarray(chain.open_interest)
    live = ~np.asarray(chain.expired) & (oi > 0)
    if not live.any():
        return None
    expiry = np.asarray(chain.expiry)
    nearest = live & (expiry == expiry[live].min())
    rows = np.flatnonzero(nearest)
    strikes = np.asarray(chain.strike)[rows]
    uniq, where = np.unique(strikes, return_inverse=True)
    by_strike = np.bincount(where, weights=oi[rows])
    return float(uniq[int(np.argmax(by_strike))])


PIN_KEYS = (
    "close_distance_pct",
    "abs_distance_pct",
    "last_hour_mean_abs_distance_pct",
    "pull_to_strike_bp",
    "fundamental_distance_pct",
    "fundamental_abs_distance_pct",
    "last_hour_fundamental_mean_abs_distance_pct",
    "close_distance_net_pct",
)


def _mean_abs_distance(prices: np.ndarray, strike: float) -> float:
    return float(np.mean(np.abs(prices / strike - 1.0)) * 100)


def _pin_metrics(run: RunPaths) -> dict:
    strike = pin_strike_of(run.model)
    if strike is None:
        return {"strike": None, **dict.fromkeys(PIN_KEYS, NAN)}
    close = float(run.model.state.last)
    hour = run.times >= run.end - 3600.0
    dist = 100.0 * (close / strike - 1.0)
    f_gap = float(run.model.fundamental) / strike - 1.0
    f_dist = 100.0 * f_gap
    return {
        "strike": strike,
        "close_distance_pct": dist,
        "abs_distance_pct": abs(dist),
        "last_hour_mean_abs_distance_pct": _mean_abs_distance(run.mids[hour], strike),
        "pull_to_strike_bp": 1e4 * (abs(f_gap) - abs(close / strike - 1.0)),
        "fundamental_distance_pct": f_dist,
        "fundamental_abs_distance_pct": abs(f_dist),
        "last_hour_fundamental_mean_abs_distance_pct": _mean_abs_distance(
            run.fundamental[hour], strike
        ),
        "close_distance_net_pct": dist - f_dist,
    }


def path_metrics(model) -> dict:
    """The price's figures with the ``fundamental`` and ``net_of_fundamental`` sections (the part
    of :func:`scenario_metrics` that reads only the mid and F paths, the closes and the stress
    window)."""
    return path_section(RunPaths(model))


def scenario_metrics(model) -> dict:
    """The scenario's figures for summary.json (names and units in the module docstring)."""
    run = RunPaths(model)
    trades = _window_trades(run)
    out = path_section(run)
    out.update(_halt_metrics(model))
    out.update(_window_metrics(run))
    out["populations"] = _population_metrics(run, trades)
    out["dealers"] = _dealer_metrics(run)
    out["insurers"] = _insurer_metrics(run, trades)
    out["desk"] = _desk_metrics(run, out["trough_time_s"])
    out["liquidity"] = _liquidity_metrics(run)
    out["pin"] = _pin_metrics(run)
    return out
