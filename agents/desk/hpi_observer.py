"""The desk's outside observer: the Hedge Pressure Index's four raw components from public data.

What the observer reads, all of it through the desk's :class:`agents.world.World`, and nothing
else: the chain's listed contracts and **open interest** (never the dealers' true positions:
those stay inside the simulation), the implied-volatility surface, the order book (spread, touch
sizes, the count of cancels), the tape (mid history), the clock and the public calendar (the
times of events marked ``scheduled``, e.g. macro prints, and each day's close; expiries come from
the chain). Unscheduled events (a crash's
news) are invisible until they move prices. The dealers' side is an *assumed* sign convention
per option type (default dealers short calls, long puts).

Components (raw units, see :mod:`market.execution.hpi`; + = pressure against the desk):

- gamma pressure: ``-GEX_near / gex_scale - pin_weight * concentration`` from the observer's GEX
  (dollars per 1% move) over strikes within ``gex_band_pct`` of spot and the signed share of
  ``|GEX|`` inside the pin band;
- spot velocity: trailing mid speed in bps per minute, signed by the desk's net side (the side
  of its working parents by remaining quantity; an idle desk counts any fast move: absolute);
- expiry proximity: ``oi_share / sqrt(hours to the nearest large expiry)`` plus event windows
  (scheduled events, the close);
- book stress: spread widening over its calm baseline, top-of-book depletion on the side the desk
  takes from, and the excess cancel rate (cancels = the book's cancel and reduce messages).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from agents.desk.config import HPIObserverConfig
from agents.world import World
from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR
from market.execution.hpi import (
    COMPONENTS,
    HedgePressureIndex,
    HPIReading,
    book_stress,
    expiry_proximity,
    gamma_pressure,
    spot_velocity,
)
from market.options.gex import Legs, observer_gex

# An empty side of the book leaves no spread to measure; it counts as this many baselines.
_EMPTY_SIDE_SPREAD_MULTIPLE = 4.0
# A calm book's cancel rate is learned; this floor keeps a silent start from dividing by zero.
_MIN_CANCEL_RATE = 1e-3


def calendar_windows(
    scheduled_times: Sequence[float], days: int, cfg: HPIObserverConfig
) -> list[tuple[float, float, float]]:
    """Calendar windows an outsider knows in advance: scheduled events and each day's close.

    Every event on the public calendar (``scheduled_times``, clock seconds: a macro print, an
    auction, any kind marked ``scheduled``) opens a window of ``macro_window_s`` seconds at its
    time (weight 1). Unscheduled events are not on the calendar: the observer must not
    anticipate news that was not announced. Each of the ``days`` trading days ends with a window
    of ``close_window_s`` seconds of weight ``close_weight`` (none when either is 0). Windows are
    ``(start, end, weight)`` in clock seconds, scheduled events first in calendar order.
    """
    windows = [(start, start + cfg.macro_window_s, 1.0) for start in scheduled_times]
    if cfg.close_window_s > 0 and cfg.close_weight > 0:
        for day in range(days):
            end = (day + 1) * SECONDS_PER_DAY
            windows.append((end - cfg.close_window_s, end, cfg.close_weight))
    return windows


class HPIObserver:
    """Computes the HPI's four raw components from public data, one observation per step.

    :meth:`observe` gathers this step's inputs (plain numbers: mids, spread, touch size,
    cancels, open-interest aggregates); the component functions of :mod:`market.execution.hpi`
    then run vectorised over the observations gathered so far, and the index and its consumer
    (``sink``, e.g. the state machine) are stepped through them in order, whenever a reading is
    needed (:attr:`reading`, :meth:`flush`) or ``batch`` observations are pending. Results are
    the same as stepping eagerly; the pure functions' per-call cost is paid once per batch.

    Diagnostics kept next to the index (one row per observation in :meth:`frame`): the
    observer's GEX estimate near spot, in total and from calls and puts separately (so other
    sign conventions can be evaluated afterwards: flipping a type's sign flips its part), the
    pin concentration, the time to the nearest large expiry and its OI share, the spread
    baseline.
    """

    def __init__(
        self,
        cfg: HPIObserverConfig,
        world: World,
        *,
        batch: int = 256,
        sink: Callable[[HPIReading], tuple[str, float]] | None = None,
    ) -> None:
        self.cfg = cfg
        fallbacks = {k: (float(v[0]), float(v[1])) for k, v in cfg.fallbacks.items()}
        # one observation per model step: the seconds of history become observation counts
        window = round(cfg.scaler_window_s / world.dt)
        if window < 4:
            raise ValueError(
                f"desk.hpi.observer.scaler_window_s must span at least 4 steps "
                f"(>= {4 * world.dt:g} s at market.step_seconds={world.dt:g}), "
                f"got {cfg.scaler_window_s!r}"
            )
        min_history = min(max(1, round(cfg.min_history_s / world.dt)), window)
        self.index = HedgePressureIndex(
            weights={k: float(cfg.weights.get(k, 1.0)) for k in COMPONENTS},
            window=window,
            min_history=min_history,
            z_clip=float(cfg.z_clip),
            fallbacks=fallbacks,
            slope_window_seconds=float(cfg.slope_window_s),
        )
        self.sign_convention = (float(cfg.sign_convention[0]), float(cfg.sign_convention[1]))
        self.event_windows = calendar_windows(world.scheduled_event_times, world.days, cfg)
        self.world = world
        self.batch = int(batch)
        self.sink = sink
        self._reading: HPIReading | None = None
        self.gex_near = 0.0
        self.gex_total = 0.0
        self.gex_calls = 0.0
        self.gex_puts = 0.0
        self.concentration = 0.0
        self.seconds_to_expiry = math.nan
        self.oi_weight = 0.0
        self.spread_baseline = math.nan
        self.cancel_rate_baseline = math.nan
        self._next_gex = -math.inf
        self._expiry = math.nan  # the nearest large expiry (clock seconds)
        self._prev_time = math.nan
        self._spread_fast = math.nan
        self._depths: deque = deque()  # (time, touch size on the side the desk takes from)
        self._amends: deque = deque()  # (time, cumulative cancels and reduces)
        self._pending: list[tuple] = []
        self._rows: list[tuple] = []

    # ------------------------------------------------------------------ slow-moving inputs
    def _refresh_chain(self, world: World, now: float, spot: float) -> None:
        """Re-estimate GEX and the expiry aggregates from open interest (every gex interval)."""
        cfg = self.cfg
        chain = world.chain
        oi = np.asarray(chain.open_interest, dtype=float)
        live = chain.live(now)
        keep = live & (oi > 0)
        if not np.any(keep):
            self.gex_near = self.gex_total = self.concentration = 0.0
            self.gex_calls = self.gex_puts = 0.0
        else:
            # Only public fields enter: strikes, expiries, types and open interest.
            legs = Legs(
                strike=np.array(chain.strike)[keep],
                is_call=np.array(chain.is_call)[keep],
                multiplier=np.array(chain.multiplier)[keep],
                expiry=np.array(chain.expiry)[keep],
                open_interest=oi[keep],
            )
            years = np.maximum(legs.expiry - now, 1.0) / SECONDS_PER_YEAR
            vols = np.asarray(world.surface.vol(legs.strike, years, spot), dtype=float)
            rep = observer_gex(legs, spot, vols, now=now, sign_convention=self.sign_convention)
            distance = np.abs(rep.strikes - spot) / spot * 100.0
            self.gex_total = rep.total
            self.gex_calls, self.gex_puts = rep.call_total, rep.put_total
            self.gex_near = float(rep.by_strike[distance <= cfg.gex_band_pct].sum())
            scale = float(np.abs(rep.by_strike).sum())
            pin = float(rep.by_strike[distance <= cfg.pin_band_pct].sum())
            self.concentration = float(np.clip(pin / scale, -1.0, 1.0)) if scale > 0 else 0.0
        if not np.any(live):
            self._expiry, self.oi_weight = math.nan, 0.0
            return
        per_expiry, at = np.unique(np.asarray(chain.expiry)[live], return_inverse=True)
        oi_by = np.bincount(at, weights=oi[live], minlength=per_expiry.size)
        total = oi_by.sum()
        if total <= 0:
            self._expiry, self.oi_weight = float(per_expiry[0]), 0.0
            return
        share = oi_by / total
        large = np.flatnonzero(share >= self.cfg.large_oi_share)
        pick = int(large[0]) if large.size else int(np.argmax(share))  # sorted: nearest first
        self._expiry, self.oi_weight = float(per_expiry[pick]), float(share[pick])

    def _book_inputs(self, world: World, now: float, side: int) -> tuple:
        cfg = self.cfg
        book = world.book_view
        bb, ba = book.best_bid, book.best_ask
        dt = (
            max(now - self._prev_time, world.dt) if self._prev_time == self._prev_time else world.dt
        )
        alpha = 1.0 - 0.5 ** (dt / cfg.baseline_halflife_s)
        fast = 1.0 - 0.5 ** (dt / cfg.spread_halflife_s)
        base = self.spread_baseline
        if bb is not None and ba is not None:
            raw = float(max(ba - bb, 1))
            self.spread_baseline = raw if base != base else base + alpha * (raw - base)
        else:
            self.spread_baseline = base if base == base else 1.0
            raw = _EMPTY_SIDE_SPREAD_MULTIPLE * self.spread_baseline
        # the quoted spread flickers tick by tick; stress is about a spread that stays wide
        smooth = self._spread_fast
        self._spread_fast = raw if smooth != smooth else smooth + fast * (raw - smooth)
        spread = self._spread_fast
        bid_touch = book.size_within(1, 0) if bb is not None else 0
        ask_touch = book.size_within(-1, 0) if ba is not None else 0
        depth = float(
            ask_touch if side > 0 else bid_touch if side < 0 else min(bid_touch, ask_touch)
        )
        # depletion is measured against the touch ``depletion_window_s`` ago, not one step ago:
        # a one-step change is mostly queue churn
        self._depths.append((now, depth))
        while len(self._depths) > 1 and self._depths[1][0] <= now - cfg.depletion_window_s:
            self._depths.popleft()
        t_prev, prev = self._depths[0]
        depletion_dt = max(now - t_prev, world.dt)
        amends = world.book_amendments
        self._amends.append((now, amends))
        while len(self._amends) > 1 and self._amends[1][0] <= now - cfg.cancel_window_s:
            self._amends.popleft()
        t0, a0 = self._amends[0]
        span = max(now - t0, dt)
        cancels = float(amends - a0)
        rate = cancels / span
        old = self.cancel_rate_baseline
        new = rate if old != old else old + alpha * (rate - old)
        self.cancel_rate_baseline = max(new, _MIN_CANCEL_RATE)
        self._prev_time = now
        return (
            spread,
            self.spread_baseline,
            depth,
            prev,
            depletion_dt,
            cancels,
            span,
            self.cancel_rate_baseline,
        )

    # ------------------------------------------------------------------ one observation
    def observe(self, world: World, side: int = 0) -> None:
        """Gather the inputs of one observation at ``world.now`` for a desk on ``side`` (+1,
        -1, 0 = idle). The reading follows on demand (:attr:`reading`)."""
        now = float(world.now)
        state = world.state
        spot = float(state.mid)
        if now >= self._next_gex:
            self._next_gex = now + self.cfg.gex_interval_s
            self._refresh_chain(world, now, spot)
        tte = max(self._expiry - now, 0.0) if self._expiry == self._expiry else math.nan
        self.seconds_to_expiry = tte
        self._pending.append(
            (
                now,
                state.n,
                side,
                self.gex_near,
                self.concentration,
                self.gex_total,
                self.gex_calls,
                self.gex_puts,
                tte,
                self.oi_weight,
                *self._book_inputs(world, now, side),
            )
        )
        if len(self._pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Compute the components of every pending observation and step the index through
        them (and the sink, if any), recording one row per observation."""
        rows = self._pending
        if not rows:
            return
        self._pending = []
        cfg = self.cfg
        cols = list(zip(*rows, strict=True))
        times = np.asarray(cols[0])
        steps = np.asarray(cols[1], dtype=np.int64)
        sides = np.asarray(cols[2], dtype=float)
        gex_near, conc, gex_total, gex_calls, gex_puts = (
            np.asarray(c, dtype=float) for c in cols[3:8]
        )
        tte, oi_w = np.asarray(cols[8], dtype=float), np.asarray(cols[9], dtype=float)
        spread, base, depth, prev, dt, cancels, span, cancel_base = (
            np.asarray(c, dtype=float) for c in cols[10:18]
        )

        gp = np.atleast_1d(
            gamma_pressure(gex_near, conc, gex_scale=cfg.gex_scale, pin_weight=cfg.pin_weight)
        )
        sv = self._signed_velocity(steps, sides)
        ep = self._expiry_proximity(times, tte, oi_w)
        bs = self._stress(spread, base, depth, prev, dt, cancels, span, cancel_base)
        for i in range(len(rows)):
            reading = self.index.step(
                float(times[i]), float(gp[i]), float(sv[i]), float(ep[i]), float(bs[i])
            )
            self._reading = reading
            state, tail = self.sink(reading) if self.sink is not None else ("", math.nan)
            self._rows.append(
                (
                    reading.time,
                    reading.hpi,
                    reading.slope,
                    *(reading.z[c] for c in COMPONENTS),
                    *(reading.raw[c] for c in COMPONENTS),
                    float(gex_near[i]),
                    float(gex_total[i]),
                    float(gex_calls[i]),
                    float(gex_puts[i]),
                    float(conc[i]),
                    float(tte[i]),
                    float(oi_w[i]),
                    float(base[i]),
                    state,
                    tail,
                )
            )

    def _signed_velocity(self, steps: np.ndarray, sides: np.ndarray) -> np.ndarray:
        """Spot velocity at each observation's step, signed by the desk's side then (absolute
        for an idle desk); computed over the step-by-step mid tape, exactly as
        :func:`spot_velocity` defines it."""
        cfg = self.cfg
        world = self.world
        k = max(1, round(cfg.velocity_window_s / world.dt))
        first = max(int(steps[0]) - k, 0)
        tape_steps = np.arange(first, int(steps[-1]) + 1)
        tape_v = spot_velocity(
            tape_steps * world.dt,
            world.state.mids[first : steps[-1] + 1],
            k * world.dt,
            desk_side=1,
        )
        v = tape_v[steps - first]
        return np.where(sides != 0, sides * v, np.abs(v))

    def _expiry_proximity(self, times: np.ndarray, tte: np.ndarray, oi_w: np.ndarray) -> np.ndarray:
        """Expiry proximity of each observation; one with no expiry ahead (``tte`` not finite)
        counts as a year away with no open-interest weight, leaving only the event windows."""
        cfg = self.cfg
        no_expiry = ~np.isfinite(tte)
        return np.atleast_1d(
            expiry_proximity(
                np.where(no_expiry, SECONDS_PER_YEAR, tte),
                np.where(no_expiry, 0.0, oi_w),
                self.event_windows,
                times,
                floor_hours=cfg.expiry_floor_hours,
                event_bump=cfg.event_bump,
                event_lead_seconds=cfg.event_lead_s,
            )
        )

    def _stress(self, spread, base, depth, prev, dt, cancels, span, cancel_base) -> np.ndarray:
        # book_stress takes one calm cancel rate; the learned baseline moves slowly, so rows are
        # scaled to a unit baseline (cancels / rate) and the function gets a rate of 1.
        return np.atleast_1d(
            book_stress(
                spread,
                base,
                depth,
                prev,
                dt,
                cancels / cancel_base,
                span,
                weights=tuple(self.cfg.stress_weights),
                cancel_baseline_rate=1.0,
            )
        )

    @property
    def n_observations(self) -> int:
        """Observations gathered so far (computed or pending)."""
        return len(self._rows) + len(self._pending)

    @property
    def reading(self) -> HPIReading | None:
        """The index at the latest observation (None before the first)."""
        self.flush()
        return self._reading

    def frame(self) -> pd.DataFrame:
        """One row per observation: time, hpi, hpi_slope, z_* and raw_* per component, the
        observer's GEX near spot, in total and from calls and from puts (currency per 1%, under
        its sign convention), pin concentration, seconds to the nearest large expiry and its OI
        share, the spread baseline (ticks), the state and the tail forecast (bps, NaN without a
        forecaster)."""
        self.flush()
        columns = [
            "time",
            "hpi",
            "hpi_slope",
            *(f"z_{k}" for k in COMPONENTS),
            *(f"raw_{k}" for k in COMPONENTS),
            "observer_gex_near",
            "observer_gex_total",
            "observer_gex_calls",
            "observer_gex_puts",
            "pin_concentration",
            "seconds_to_expiry",
            "expiry_oi_share",
            "spread_baseline_ticks",
            "desk_state",
            "tail_p95_bps",
        ]
        return pd.DataFrame(self._rows, columns=columns)
