"""Dealers as market makers on the option books: two-sided quotes from their own pricing.

In book mode (``market.options.venue: book``) every dealer keeps a two-sided quote in each series
it covers. A :class:`DealerQuoter` holds one dealer's quotes and runs its quote pass each step:

- prices: the dealer's Leland/inventory pricing of :mod:`agents.dealers` (the ask is its price
  to sell ``size`` contracts, the bid its price to buy them), as half-spreads around the
  theoretical value (Black-Scholes at the surface vol), plus a per-series ``charge`` the caller
  computes for every dealer alike (:func:`quote_charge`: hedging one fill's delta at the
  underlying's touch, holding its vega), at least ``min_half_spread_ticks``;
- stress: both half-spreads times the pass's ``stress`` multiplier (realised volatility against
  the ATM vol, the underlying's spread; computed by the caller, the same for every dealer);
- the side just filled is priced ``fill_widen_ticks`` further away for ``fill_widen_seconds``;
- limits: a side whose fill would take ``|net_gamma|`` or ``|net_vega|`` beyond the dealer's
  limit is not quoted (the quote becomes one-sided, or is pulled);
- hysteresis: a series is re-quoted only when its theoretical value moved by at least
  ``requote_ticks`` since its quote was sent (the unrounded value, so a value hovering at a
  rounding boundary does not flicker the price), a side of it filled, its widening ended, or the
  dealer's risk state changed (its vega inventory step, which sides its limits allow, the
  stress multiplier 20% away from the one it last re-quoted on): those re-quote every series it
  covers;
- a series due whose prices come out as its live quote's, resting in full where it was sent,
  is left alone: no message, and the quote keeps its place in the queue;
- post-only: every quote is sent ``post_only`` (:meth:`OptionVenue.quote`), so a side that would
  lock or cross another owner's resting quote is repriced one tick behind it (a bid that would
  fall below one tick is not sent): dealers whose inventories shift their prices apart do not
  trade with each other through their quotes, only customers' orders take them.

Units: prices on the venue in integer option ticks (``tick`` currency each, per share), values in
currency per share, sizes in contracts, times in clock seconds; side +1 buy / -1 sell (the
dealer's). The quoter sends messages only through ``venue.quote`` and is told of its fills by the
caller (:meth:`DealerQuoter.on_fill`), which also pulls its quotes when the exchange curtails it
(:meth:`DealerQuoter.forget`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from agents.dealers import OptionDealer
from market.exchange.clock import SECONDS_PER_YEAR
from market.options.pricing import leland_number, unchecked_bs_price

#: the stress multiplier is read in steps of this log size (about 20%)
_STRESS_STEP = math.log(1.2)


class QuoteVenue(Protocol):
    """The part of :class:`market.exchange.option_venue.OptionVenue` a quoter uses."""

    def quote(
        self,
        owner: int,
        contract: int,
        bid_px: int | None,
        bid_qty: int,
        ask_px: int | None,
        ask_qty: int,
        *,
        post_only: bool = False,
    ) -> tuple[int | None, int | None]: ...

    @property
    def n_repriced(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class QuotingParams:
    """How the dealers quote (the book-mode fields of ``market.options``; units as the module's)."""

    size: int
    tick: float
    requote_ticks: float
    fill_widen_ticks: int
    fill_widen_seconds: float
    inventory_buckets: int


@dataclass
class SeriesMarks:
    """Marks of every chain row at one instant, per share (rows not live are ignored):
    ``theo`` currency, ``vol`` surface vol, ``t`` years to expiry, ``gamma``, ``vega`` and
    ``delta`` as :func:`market.options.pricing.bs_greeks` gives them; ``spot`` the underlying's
    mid."""

    spot: float
    theo: np.ndarray
    vol: np.ndarray
    t: np.ndarray
    gamma: np.ndarray
    vega: np.ndarray
    delta: np.ndarray


def quote_charge(
    marks: SeriesMarks,
    underlying_spread: float,
    hedge_cost_weight: float,
    vega_charge_weight: float,
    vol_of_vol: float,
    vega_holding_years: float,
) -> np.ndarray:
    """What every dealer adds to both half-spreads of each series (currency per share):
    ``hedge_cost_weight * |delta| * underlying_spread / 2`` (hedging one fill's delta at the
    underlying's touch, ``underlying_spread`` in currency) plus ``vega_charge_weight * vega *
    vol_of_vol * sqrt(vega_holding_years)`` (one standard deviation of the implied vol's move
    while the fill's vega is held; ``vol_of_vol`` absolute per square-root trading year)."""
    hedge = hedge_cost_weight * 0.5 * underlying_spread * np.abs(marks.delta)
    return hedge + vega_charge_weight * vol_of_vol * math.sqrt(vega_holding_years) * marks.vega


class DealerQuoter:
    """One dealer's quotes in the chain rows ``rows`` (see the module docstring).

    Public counters: ``requotes`` (quote messages sent), ``unchanged`` (series due whose
    prices came out as the live quote's, so nothing was sent), ``one_sided`` (quotes sent with one
    side only: held back by a limit, a bid that could not reach a tick, or a side post-only
    dropped), ``repriced`` (sides the venue moved behind another owner's quote or dropped),
    ``passes``.
    """

    def __init__(self, dealer: OptionDealer, rows: np.ndarray, params: QuotingParams) -> None:
        self.dealer = dealer
        self.params = params
        self.rows = np.asarray(rows, dtype=np.int64)
        n = len(dealer.world.chain)
        self.sent_theo = np.full(n, np.nan)  # theo when the live quote was sent; nan = none
        self.bid = np.zeros(n, dtype=np.int64)  # ticks of the live quote (0 = no side)
        self.ask = np.zeros(n, dtype=np.int64)
        self.widen_bid_until = np.full(n, -math.inf)
        self.widen_ask_until = np.full(n, -math.inf)
        self._dirty = np.zeros(n, dtype=bool)
        chain = dealer.world.chain
        self._strike = np.asarray(chain.strike, dtype=float)
        self._omega = np.where(np.asarray(chain.is_call, dtype=bool), 1.0, -1.0)
        self._risk_state: tuple[int, bool, bool, float] | None = None
        self._stress_anchor: float | None = None  # the stress multiplier last re-quoted on
        self._behind = np.zeros(n, dtype=bool)  # its live quote was moved behind by post-only
        # a pass over the very marks of the last one with nothing filled, pulled or ending its
        # widening since has nothing to do (most steps: the underlying's mid did not move)
        self._last_marks: SeriesMarks | None = None
        self._news = True
        self._next_widen_end = math.inf
        self.requotes = 0
        self.unchanged = 0
        self.one_sided = 0
        self.repriced = 0
        self.passes = 0

    # ------------------------------------------------------------------ state
    def quoted(self, live: np.ndarray) -> int:
        """How many of its rows that are ``live`` (a boolean mask over the chain) it quotes."""
        r = self.rows[live[self.rows]]
        return int(np.count_nonzero((self.bid[r] > 0) | (self.ask[r] > 0)))

    def forget(self) -> None:
        """Its quotes were pulled (a curtailment or a delisting of every row): none is live."""
        self.sent_theo[:] = np.nan
        self.bid[:] = 0
        self.ask[:] = 0
        self._behind[:] = False
        self._news = True

    def forget_rows(self, rows: np.ndarray) -> None:
        """Its quotes in ``rows`` are gone (the series were delisted)."""
        self.sent_theo[rows] = np.nan
        self.bid[rows] = 0
        self.ask[rows] = 0
        self._behind[rows] = False
        self._news = True

    def on_fill(self, contract: int, side: int, now: float) -> None:
        """Its quote side ``side`` (+1 its bid, -1 its ask) in ``contract`` traded at ``now``:
        widen that side for a while and re-quote the series at the next pass."""
        until = now + self.params.fill_widen_seconds
        if side > 0:
            self.widen_bid_until[contract] = until
        else:
            self.widen_ask_until[contract] = until
        self._dirty[contract] = True
        self._news = True
        self._next_widen_end = min(self._next_widen_end, until)

    # ------------------------------------------------------------------ the pass
    def risk_state(self, stress: float) -> tuple[int, bool, bool, float]:
        """What, when it changes, re-quotes every series: the vega inventory step, whether the
        limits allow buying and selling ``size`` of a typical series, and the stress multiplier
        last re-quoted on, which moves only once ``stress`` is 20% away from it (a multiplier
        hovering at a fixed step's edge would re-quote every series each time it crossed)."""
        d = self.dealer
        cfg = d.cfg
        steps = self.params.inventory_buckets
        # truncated toward zero: a flat book does not flicker between the steps either side
        bucket = int(max(-1.0, min(1.0, d.net_vega / cfg.vega_limit)) * steps)
        near_gamma = abs(d.net_gamma) >= cfg.gamma_limit * (1 - 1 / steps)
        near_vega = abs(d.net_vega) >= cfg.vega_limit * (1 - 1 / steps)
        anchor = self._stress_anchor
        if anchor is None or abs(math.log(stress / anchor)) >= _STRESS_STEP:
            anchor = self._stress_anchor = stress
        return bucket, near_gamma, near_vega, anchor

    def due(self, marks: SeriesMarks, live: np.ndarray, now: float, stress: float) -> np.ndarray:
        """The rows to re-quote in this pass (see the module docstring)."""
        state = self.risk_state(stress)
        unchanged = state == self._risk_state and marks is self._last_marks
        if unchanged and not self._news and now < self._next_widen_end:
            return self.rows[:0]
        self._last_marks = marks
        self._news = False
        rows = self.rows[live[self.rows]]
        if state != self._risk_state:
            self._risk_state = state
            return rows
        moved = np.abs(marks.theo[rows] - self.sent_theo[rows]) >= (
            self.params.requote_ticks * self.params.tick
        )
        moved |= np.isnan(self.sent_theo[rows]) | self._dirty[rows]
        ended = ((self.widen_bid_until[rows] <= now) & (self.widen_bid_until[rows] > -math.inf)) | (
            (self.widen_ask_until[rows] <= now) & (self.widen_ask_until[rows] > -math.inf)
        )
        moved |= ended
        return rows[moved]

    def quote_pass(
        self,
        venue: QuoteVenue,
        marks: SeriesMarks,
        live: np.ndarray,
        now: float,
        stress: float,
        charge: np.ndarray | None = None,
    ) -> int:
        """Re-quote the rows that are due; returns how many quote messages it sent.
        ``charge``: :func:`quote_charge` over the chain's rows (none if ``None``)."""
        self.passes += 1
        rows = self.due(marks, live, now, stress)
        if rows.size == 0:
            return 0
        dirty = self._dirty[rows]  # a side filled: the quote no longer rests in full
        self._dirty[rows] = False
        ended = self.widen_bid_until[rows] <= now
        self.widen_bid_until[rows[ended]] = -math.inf
        ended = self.widen_ask_until[rows] <= now
        self.widen_ask_until[rows[ended]] = -math.inf
        pending = np.concatenate((self.widen_bid_until, self.widen_ask_until))
        pending = pending[pending > now]
        self._next_widen_end = float(pending.min()) if pending.size else math.inf
        bid, ask = self.prices(rows, marks, now, stress, charge)
        size = self.params.size
        acct = self.dealer.account
        repriced = venue.n_repriced
        before = sum(repriced.values())
        sent = 0
        for i, c in enumerate(rows.tolist()):
            b, a = int(bid[i]), int(ask[i])
            self.sent_theo[c] = marks.theo[c]
            if b == self.bid[c] and a == self.ask[c] and not (dirty[i] or self._behind[c]):
                # the live quote rests as wanted, in full: a message would change nothing and
                # lose its place in the queue
                self.unchanged += 1
                continue
            moved = repriced["bid"] + repriced["ask"]
            bid_id, ask_id = venue.quote(
                acct, c, b or None, size if b else 0, a or None, size if a else 0, post_only=True
            )
            sent += 1
            self._behind[c] = repriced["bid"] + repriced["ask"] != moved
            # a side the venue did not enter (post-only pushed it off the price range) is no side
            b, a = (b if bid_id else 0), (a if ask_id else 0)
            self.one_sided += (b > 0) != (a > 0)
            self.bid[c], self.ask[c] = b, a
        self.repriced += sum(repriced.values()) - before
        self.requotes += sent
        return sent

    def prices(
        self,
        rows: np.ndarray,
        marks: SeriesMarks,
        now: float,
        stress: float,
        charge: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bid and ask (ticks, 0 = no side) of ``rows``: the dealer's Leland/inventory prices to
        buy and sell ``size`` contracts as half-spreads around the theoretical value, plus
        ``charge`` (by chain row, currency per share), times ``stress``, the filled side
        widened, on the tick; a side its limits forbid is 0."""
        d = self.dealer
        cfg = d.cfg
        p = self.params
        tick = p.tick
        theo = marks.theo[rows]
        ask_value, bid_value = self._leland_values(rows, marks)
        edge = cfg.min_half_spread_ticks * tick
        extra = 0.0 if charge is None else charge[rows]
        half_ask = np.maximum(ask_value - theo + extra, edge) * stress
        half_bid = np.maximum(theo - bid_value + extra, edge) * stress
        half_ask += np.where(self.widen_ask_until[rows] > now, p.fill_widen_ticks * tick, 0.0)
        half_bid += np.where(self.widen_bid_until[rows] > now, p.fill_widen_ticks * tick, 0.0)
        ask = np.maximum(np.ceil((theo + half_ask) / tick - 1e-9), 1).astype(np.int64)
        bid = np.floor((theo - half_bid) / tick + 1e-9).astype(np.int64)
        bid[bid < 1] = 0
        bid[bid >= ask] = 0  # only when theo is below a tick: keep the ask alone
        mult = d.world.ledger.multiplier
        d_gamma = p.size * marks.gamma[rows] * mult
        d_vega = p.size * marks.vega[rows] * mult
        bid[self._breaches(d_gamma, d_vega)] = 0
        ask[self._breaches(-d_gamma, -d_vega)] = 0
        return bid, ask

    def stale_take(
        self,
        contract: int,
        resting_side: int,
        price: int,
        qty: int,
        marks: SeriesMarks,
        now: float,
        stress: float,
        charge: np.ndarray | None,
        edge_ticks: int,
    ) -> int:
        """Contracts it would take now of an order resting at ``price`` (ticks) on
        ``resting_side`` (+1 a bid, which it would sell to; -1 an ask, which it would buy from):
        up to ``size`` of the ``qty`` resting when the order is through its own price on the
        other side by at least ``edge_ticks`` (a bid at or above its ask plus the edge), and
        that side of its limits allows the trade; else 0. The adverse selection of passive
        orders left behind by the underlying (design note section 5.5)."""
        row = np.array([contract], dtype=np.int64)
        bid, ask = self.prices(row, marks, now, stress, charge)
        if resting_side > 0:
            mine = int(ask[0])
            through = mine > 0 and price >= mine + edge_ticks
        else:
            mine = int(bid[0])
            through = mine > 0 and price <= mine - edge_ticks
        return min(self.params.size, qty) if through else 0

    def _breaches(self, d_gamma: np.ndarray, d_vega: np.ndarray) -> np.ndarray:
        """Whether each trade breaches a limit, as the dealer judges a request (a trade that
        reduces an exposure never does), vectorised."""
        d = self.dealer
        cfg = d.cfg
        g, v = d.net_gamma, d.net_vega
        g_after, v_after = g + d_gamma, v + d_vega
        return ((np.abs(g_after) > cfg.gamma_limit) & (np.abs(g_after) > abs(g))) | (
            (np.abs(v_after) > cfg.vega_limit) & (np.abs(v_after) > abs(v))
        )

    def _leland_values(self, rows: np.ndarray, marks: SeriesMarks) -> tuple[np.ndarray, np.ndarray]:
        """Black-Scholes values (currency per share) at the dealer's Leland vols for selling
        and buying ``size`` contracts, shifted for its vega inventory (as ``OptionDealer``
        prices a request), both sides in one vectorised call."""
        d = self.dealer
        cfg = d.cfg
        spot = marks.spot
        vol = marks.vol[rows]
        k = d.round_trip_cost()
        mult = d.world.ledger.multiplier
        d_gamma = np.abs(self.params.size * marks.gamma[rows] * mult)
        gaps = np.maximum(
            d.policy.expected_intervals(abs(d.net_gamma) + d_gamma, spot, vol, k), d.look_gap
        )
        ok = np.isfinite(gaps) & (vol > 0)
        le = np.zeros(rows.size)
        if ok.any():
            le[ok] = leland_number(vol[ok], k, gaps[ok] / SECONDS_PER_YEAR)
        inventory = cfg.inventory_vol * max(-1.0, min(1.0, d.net_vega / cfg.vega_limit))
        ask_vol = np.maximum(vol * np.sqrt(1.0 + le) - inventory, 0.0)
        bid_vol = np.maximum(vol * np.sqrt(np.maximum(1.0 - le, 0.0)) - inventory, 0.0)
        # both sides in one call: the chain's strikes, the surface's vols and the mid were
        # checked where they came from, and the checks would cost more than the pricing
        n = rows.size
        both = unchecked_bs_price(
            spot,
            np.tile(self._strike[rows], 2),
            np.tile(marks.t[rows], 2),
            np.concatenate((ask_vol, bid_vol)),
            np.tile(self._omega[rows], 2),
        )
        return both[:n], both[n:]


def stress_multiplier(
    realised_vol: float,
    atm_vol: float,
    spread_ticks: float,
    vol_weight: float,
    spread_weight: float,
) -> float:
    """Half-spread multiplier under stress, >= 1: ``(1 + vol_weight * max(realised / atm - 1,
    0)) * (1 + spread_weight * max(spread_ticks - 1, 0))`` (vols annualised, the underlying's
    spread in its ticks; a missing or non-finite reading counts as calm)."""
    m = 1.0
    if atm_vol > 0 and math.isfinite(realised_vol):
        m *= 1.0 + vol_weight * max(realised_vol / atm_vol - 1.0, 0.0)
    if math.isfinite(spread_ticks):
        m *= 1.0 + spread_weight * max(spread_ticks - 1.0, 0.0)
    return m


def coverage(n_rows: int, n_dealers: int, per_series: int, rng: np.random.Generator) -> list:
    """Which chain rows each dealer quotes: ``per_series`` distinct dealers (all of them if
    fewer) drawn for every row from ``rng``; returns one array of rows per dealer."""
    if n_dealers < 1:
        raise ValueError(f"n_dealers must be >= 1, got {n_dealers}")
    if per_series < 1:
        raise ValueError(f"per_series must be >= 1, got {per_series}")
    k = min(per_series, n_dealers)
    chosen = np.zeros((n_dealers, n_rows), dtype=bool)
    for row in range(n_rows):
        chosen[rng.choice(n_dealers, k, replace=False), row] = True
    return [np.flatnonzero(chosen[d]) for d in range(n_dealers)]
