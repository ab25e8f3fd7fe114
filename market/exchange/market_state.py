"""What every participant can observe of the underlying, updated once per simulation step.

Kept apart from the book so that reading it is cheap: agents read attributes, they do not walk the
book. Prices in currency, returns as log returns, volatility annualised with the trading-time year
of :mod:`market.exchange.clock`.
"""

from __future__ import annotations

import math

import numpy as np

from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR
from market.exchange.order_book import OrderBook


class MarketState:
    """Per-step observations: mid, last, spread, recent returns, volume and an EWMA volatility.

    ``capacity`` is the number of steps kept (the whole run). ``vol_halflife`` (seconds) sets the
    EWMA volatility memory; ``vol_sample`` (seconds) the return interval it is measured on, which
    keeps bid-ask bounce out of the estimate. A halt counts as one return: no sample is taken
    while the book is halted, so the first sample after the reopening is the move from the last
    sampled mid before the halt to the reopened book's, the net move the auction priced, and not
    the sweep into the pause nor the halted (possibly crossed or hollow) book's readings. Read
    through a pause, those would lift the estimate and keep everyone who reacts to volatility
    out of a book that needs them. Without halts the samples are every ``vol_sample`` seconds.
    """

    def __init__(
        self,
        book: OrderBook,
        initial_price: float,
        step_seconds: float,
        capacity: int,
        vol_halflife: float = 300.0,
        vol_sample: float = 10.0,
        initial_vol: float = 0.15,
    ) -> None:
        self.book = book
        self.tick = book.tick_size
        self.dt = float(step_seconds)
        self.mid = float(initial_price)
        self.last = float(initial_price)
        self.spread_ticks = 0
        self.mids = np.full(capacity + 1, np.nan)
        self.volumes = np.zeros(capacity + 1)
        self.signed_volumes = np.zeros(capacity + 1)
        self.n = 0
        self.mids[0] = initial_price
        self._lag = max(1, round(vol_sample / self.dt))
        self._alpha = 1.0 - 0.5 ** (self._lag * self.dt / vol_halflife)
        self._var = initial_vol**2 * self._lag * self.dt / SECONDS_PER_YEAR
        self._vol_sample = self._lag * self.dt
        self._sample_base = 0  # the step of the last volatility sample (its mid is the base)
        self._seen_trades = len(book.trades)
        #: aggressive signed shares per account since the last take (None: not kept)
        self._account_flow: dict[int, int] | None = None

    @property
    def vol(self) -> float:
        """EWMA realised volatility, annualised."""
        return math.sqrt(self._var * SECONDS_PER_YEAR / self._vol_sample)

    def update(self) -> None:
        """Read the book after a step: mid, last, spread, the step's volume, the vol estimate."""
        book = self.book
        bb, ba = book.best_bid, book.best_ask
        trades = book.trades
        vol = 0
        signed = 0
        per_account = self._account_flow
        for i in range(self._seen_trades, len(trades)):
            tr = trades[i]
            vol += tr.qty
            signed += tr.qty * tr.aggressor_side
            if per_account is not None:
                owner = tr.aggressor_owner
                per_account[owner] = per_account.get(owner, 0) + tr.qty * tr.aggressor_side
        self._seen_trades = len(trades)
        if vol:
            self.last = trades[-1].price * self.tick
        if bb is not None and ba is not None and ba > bb:
            self.mid = 0.5 * (bb + ba) * self.tick
            self.spread_ticks = ba - bb
        elif vol:
            self.mid = self.last
        self.n += 1
        n = self.n
        if n >= self.mids.size:  # more updates than planned: grow rather than fail
            grow = self.mids.size
            self.mids = np.concatenate([self.mids, np.full(grow, np.nan)])
            self.volumes = np.concatenate([self.volumes, np.zeros(grow)])
            self.signed_volumes = np.concatenate([self.signed_volumes, np.zeros(grow)])
        self.mids[n] = self.mid
        self.volumes[n] = vol
        self.signed_volumes[n] = signed
        if n - self._sample_base >= self._lag and not book.halted:
            r = math.log(self.mids[n] / self.mids[self._sample_base])
            self._var += self._alpha * (r * r - self._var)
            self._sample_base = n

    def track_account_flow(self) -> None:
        """Keep, from the next update on, each account's aggressive signed shares (+ bought by
        taking liquidity), read and reset by :meth:`take_account_flow`."""
        if self._account_flow is None:
            self._account_flow = {}

    def take_account_flow(self) -> tuple[np.ndarray, np.ndarray]:
        """The accounts that took liquidity since the last take and their signed shares (+ bought),
        as two int64 arrays (accounts ascending, netted to non-zero); resets the tally."""
        flow = self._account_flow
        if flow is None:
            raise RuntimeError("take_account_flow before track_account_flow")
        items = sorted((a, q) for a, q in flow.items() if q)
        flow.clear()
        accounts = np.fromiter((a for a, _ in items), dtype=np.int64, count=len(items))
        signed = np.fromiter((q for _, q in items), dtype=np.int64, count=len(items))
        return accounts, signed

    def log_return(self, window: float) -> float:
        """Log return of the mid over the last ``window`` seconds (0 before enough history)."""
        k = min(self.n, max(1, round(window / self.dt)))
        return math.log(self.mids[self.n] / self.mids[self.n - k]) if self.n else 0.0

    def volume(self, window: float) -> float:
        """Shares traded over the last ``window`` seconds."""
        k = max(1, round(window / self.dt))
        return float(self.volumes[max(0, self.n - k + 1) : self.n + 1].sum())

    def signed_volume(self, window: float) -> float:
        """Aggressor-signed shares (+ buyer-initiated) over the last ``window`` seconds."""
        k = max(1, round(window / self.dt))
        return float(self.signed_volumes[max(0, self.n - k + 1) : self.n + 1].sum())

    def mid_history(self, window: float) -> np.ndarray:
        """Mids of the last ``window`` seconds, one per step, oldest first."""
        k = max(1, round(window / self.dt))
        return self.mids[max(0, self.n - k + 1) : self.n + 1]


class DailyVolume:
    """A running estimate of the shares traded per trading day, read from a
    :class:`MarketState`: the volume traded since ``start`` (seconds, trading clock) over the
    trading time elapsed, at least ``floor`` seconds of it (so the first trades of a run do not
    read as a huge day), scaled to a day. 0 until something trades."""

    def __init__(self, state: MarketState, start: float, floor: float = 1800.0) -> None:
        self.state = state
        self.start = float(start)
        self.floor = float(floor)
        self.total = 0.0  # shares traded since start
        self._step = state.n

    def update(self, now: float) -> float:
        """Add the steps' volumes since the previous call; return the shares per day now."""
        state = self.state
        self.total += float(state.volumes[self._step + 1 : state.n + 1].sum())
        self._step = state.n
        if self.total <= 0.0:
            return 0.0
        return self.total / max(now - self.start, self.floor) * SECONDS_PER_DAY
