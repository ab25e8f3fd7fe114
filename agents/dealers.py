"""Option dealers: quote off the surface with a Leland spread and delta-hedge in the shared book.

An :class:`OptionDealer` takes the other side of every option customer (through
``world.trade_option``), holds the resulting book, and hedges its delta by trading the underlying
in the same order book as everyone else, with a pluggable policy from
:mod:`agents.hedging_policies`. A dealer that is short gamma buys as the price rises and sells as it
falls (amplifying moves); a long-gamma dealer does the reverse (damping them).

Units and signs, stated once:

- side +1 buy / -1 sell; option positions in contracts (+ = the dealer is long), each covering
  ``multiplier`` shares (the ledger's); the underlying in shares.
- Greeks of the book: ``option_delta`` and ``net_delta`` in shares (d value / d spot),
  ``net_gamma`` in shares per 1 currency unit of spot, ``net_vega`` in currency per 1.00 of
  volatility (divide by 100 for one vol point), ``net_theta`` in currency per trading year.
  ``gex`` is the dealer's dollar gamma per 1% move, ``net_gamma * spot**2 * 0.01`` (currency),
  from its true positions.
- Prices: option quotes in currency per share, on the ``option_tick`` grid; the underlying's
  marks are the book mid (``world.state.mid``); option marks are Black-Scholes at the surface vol.
- Time: clock seconds (:mod:`market.exchange.clock`); option maturities in trading years.

Quoting. The mid is Black-Scholes at the surface vol. A dealer that sells (the customer buys)
asks the price at Leland's vol for a short option, ``vol * sqrt(1 + Le)``; one that buys bids at
the long-option vol ``vol * sqrt(max(1 - Le, 0))``, with ``Le = sqrt(2/pi) k / (vol sqrt(dt))``:
``k`` is the round-trip cost of trading the underlying estimated from the current book spread
(``cost_spread_multiple * spread / mid``, at least ``min_round_trip_cost``) and ``dt`` the
rebalancing interval the dealer's own policy expects for its book including the new trade
(never shorter than its mean time between looks, ``1 / rate``). Wider book spreads and more
frequent rebalancing both widen the quote. An inventory term moves both quotes by
``-inventory_vol * net_vega / vega_limit`` vol (a dealer already short vega asks more and bids
more). Each quote sits at least ``min_half_spread_ticks`` option ticks from the mid. The dealer
refuses (``None``) expired contracts and those not listed yet, a bid that would be below one
tick, and trades that would take ``|net_gamma|`` beyond ``gamma_limit`` or ``|net_vega|`` beyond
``vega_limit`` (trades that reduce an exposure are always accepted).

Hedging. At each look (its Poisson clock) the dealer recomputes the Greeks of its live positions
in one vectorised ``bs_greeks`` call. With ``execution=aggressive`` it asks its policy for a
trade and sends it as market orders or IOC limits ``ioc_offset_ticks`` through the far touch,
sliced into child orders of at most ``max_order_size`` shares, at most ``max_child_orders`` per
look; a hedge not completed (a halt, an empty book side, the slicing cap) is resumed at the next
look. With ``execution=banded`` the policy's no-trade band is the inner band of a two-band rule
(:mod:`agents.hedge_execution`): inside it nothing, up to ``outer_band_multiple`` times it a
passive order resting at or inside the touch for part of the excess (``passive_urgency_floor``
of it at the inner band, all of it at the outer), beyond it IOC children for the part beyond
the ``cross_to`` target (by default only what lies beyond the outer band) and a passive order
for the band's width behind them. In the session's last ``close_window_seconds`` the inner band
(and with it the outer) is narrowed to ``close_band_factor`` times the policy's, so the delta a
banded dealer carries into the night is smaller than the one it tolerates during the day
(:meth:`close_factor`).
Every look counts whether the deviation was outside either band (``bands``).
A short-gamma dealer's crossing hedges are capped at ``participation_cap`` of the volume printed
over the last ``participation_window_seconds`` (its own passive prints not counted as the
market's); the part held back crosses at later looks as the market trades, or, with banded
execution and ``participation_relax_seconds`` > 0, widens the outer band to the gap left open,
relaxing back with that half-life (:meth:`_capped_action`,
:class:`~agents.hedge_execution.ParticipationCap`). A long-gamma book is not capped: its hedges'
impact shrinks the next hedge instead of feeding it.

Profit and loss. The dealer's mark-to-market value changes split exactly into three parts:

- ``pnl_premium``: edge captured on option trades, ``qty * (surface mid - price) * multiplier``
  at the moment of each trade (qty signed for the dealer);
- ``pnl_hedge_cost``: minus the cost paid on hedge fills versus the mid when the hedge was
  decided, ``-side * qty * (fill price - decision mid)``;
- ``pnl_gamma_theta``: everything else, i.e. the change in value of the positions held at mid
  marks: option revaluation (gamma, theta, vega from surface moves), the hedge shares at mid, and
  expiry settlement. Computed from the positions and marks, not as a remainder.

The figures are refreshed at each look at most every ``mark_interval_seconds``, at each close,
and whenever :meth:`OptionDealer.mark` is called.

Start-of-run positioning. ``initial_book`` gives the dealers an opening book that comes from real,
recorded option trades executed by the customers (see :mod:`agents.dealer_book`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, NamedTuple

import numpy as np

from agents.base import Participant, Population
from agents.dealer_config import DealersConfig
from agents.dealer_marks import ContractMarks, SurfaceMarks
from agents.hedge_execution import (
    AggressiveHedge,
    BandAction,
    BandCounts,
    HedgeExecution,
    ParticipationCap,
    PassiveHedge,
    band_action,
)
from agents.hedging_policies import HedgePolicy, HedgePolicyKind, NoHedge, make_policy
from agents.world import World
from market.exchange.clearing import to_cents
from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR, time_of_day
from market.options.pricing import bs_greeks, bs_price, leland_number


class BookGreeks(NamedTuple):
    """Greeks of an option book (units in the module docstring); ``value`` in currency."""

    delta: float
    gamma: float
    vega: float
    theta: float
    value: float


class OptionDealer(Participant):
    """An options market maker that quotes off the surface and delta-hedges in the shared book.

    Public figures (plain attributes, units in the module docstring): ``net_delta`` (shares,
    options + stock), ``option_delta``, ``net_gamma``, ``net_vega``, ``net_theta``, ``gex``;
    ``hedge_flow`` (cumulative signed shares bought for hedging), ``hedge_trades`` (prints),
    ``hedge_orders`` (crossing child orders sent), ``hedge_waits`` (looks that found the market
    halted); ``bands`` (looks outside the inner and the outer band), ``passive`` (the resting
    hedge order: ``orders`` placed, shares ``filled``);
    ``pnl_premium``, ``pnl_gamma_theta``, ``pnl_hedge_cost`` and ``pnl_total`` (currency);
    ``contracts_bought``, ``contracts_sold``, ``quotes_refused``.
    """

    population = "dealers"
    wants_fills = True

    def __init__(
        self,
        world: World,
        stream: np.random.Generator,
        rate: float,
        cfg: DealersConfig | None = None,
        marks: SurfaceMarks | None = None,
        policy: HedgePolicy | None = None,
    ) -> None:
        super().__init__(world, stream, rate)
        self.cfg = cfg = cfg if cfg is not None else DealersConfig()
        self.marks = marks if marks is not None else SurfaceMarks()
        # the hedging strategy is injected (populate builds it from the config)
        self.policy = policy if policy is not None else hedge_policy_of(cfg)
        self.hedging = not isinstance(self.policy, NoHedge)
        self.look_gap = 1.0 / rate if rate > 0 else math.inf
        self._zero_figures()
        self.passive = PassiveHedge(
            world,
            self.account,
            cfg.passive_inside_ticks,
            cfg.max_order_size,
            cfg.passive_resize_tolerance,
        )
        self.aggressive = AggressiveHedge(
            world,
            self.account,
            cfg.order_type,
            cfg.ioc_offset_ticks,
            cfg.max_order_size,
            cfg.max_child_orders,
        )
        self.cap = ParticipationCap(
            cfg.participation_cap, cfg.participation_window_seconds, cfg.participation_relax_seconds
        )
        self._zero_bookkeeping()

    def _zero_figures(self) -> None:
        """The public figures (class docstring) before any trade, look or mark."""
        self.net_delta = 0.0
        self.option_delta = 0.0
        self.net_gamma = 0.0
        self.net_vega = 0.0
        self.net_theta = 0.0
        self.gex = 0.0
        self.hedge_flow = 0
        self.hedge_trades = 0
        self.hedge_orders = 0
        self.hedge_waits = 0
        self.contracts_bought = 0
        self.contracts_sold = 0
        self.quotes_refused = 0
        self.pnl_premium = 0.0
        self.pnl_gamma_theta = 0.0
        self.pnl_hedge_cost = 0.0
        self.bands = BandCounts()

    def _zero_bookkeeping(self) -> None:
        """The working hedge, the last quote and the P&L bookkeeping of :meth:`mark`, unset."""
        self._started = False
        self._target: float | None = None  # net delta a partly executed hedge is working toward
        self._last_quote: tuple | None = None  # (contract, now, spot, marks)
        self._last_mark_time = -math.inf
        # P&L bookkeeping since the last mark: see mark()
        self._mark_cash = 0
        self._mark_shares = 0
        self._mark_spot = 0.0
        self._mark_option_value = 0.0
        self._option_cash = 0  # cents paid (-) or received (+) for options since the mark
        self._option_basis = 0.0  # currency: sum of qty * mid * multiplier at trade times
        self._share_cash = 0  # cents for hedge fills since the mark
        self._share_basis = 0.0  # currency: sum of signed qty * decision mid

    # ------------------------------------------------------------------ setup
    def _start(self) -> None:
        """First contact with the ledger (it does not exist while populations are built)."""
        m = self.world
        led = m.ledger
        self._mult = float(led.multiplier)
        self._cents_per_tick = round(m.tick * 100)
        chain = m.chain
        self._strike = np.asarray(chain.strike, dtype=float)
        self._expiry = np.asarray(chain.expiry, dtype=float)
        self._is_call = np.asarray(chain.is_call, dtype=bool)
        acct = self.account
        self._mark_cash = int(led.cash[acct])
        self._mark_shares = int(led.shares[acct])
        self._mark_spot = float(m.state.mid)
        self._mark_option_value = self._option_value(self._mark_spot, m.now)
        self._last_mark_time = m.now
        self._started = True

    # ------------------------------------------------------------------ observations
    @property
    def pnl_total(self) -> float:
        """Sum of the three P&L parts (currency).

        Premium and hedge costs are booked as trades and fills happen, the gamma/theta part at
        each mark; right after a mark the sum equals the change in the account's value at mid.
        """
        return self.pnl_premium + self.pnl_gamma_theta + self.pnl_hedge_cost

    @property
    def hedged_gex(self) -> float:
        """``gex`` if this dealer delta-hedges, else 0: the gamma whose hedges reach the
        market."""
        return self.gex if self.hedging else 0.0

    def round_trip_cost(self) -> float:
        """Round-trip proportional cost of the underlying estimated from the book spread."""
        st = self.world.state
        k = 0.0
        if st.spread_ticks > 0 and st.mid > 0:
            k = self.cfg.cost_spread_multiple * st.spread_ticks * self.world.tick / st.mid
        return max(k, self.cfg.min_round_trip_cost)

    def _held(self, now: float) -> np.ndarray:
        pos = self.world.ledger.options[self.account]
        held = np.flatnonzero(pos)
        if held.size:
            held = held[self._expiry[held] > now]
        return held

    def book_greeks(self) -> BookGreeks:
        """Greeks of the live option positions at the current mid, in one ``bs_greeks`` call.

        Updates ``option_delta``, ``net_delta`` (plus the shares held), ``net_gamma``,
        ``net_vega``, ``net_theta`` and ``gex``; ``value`` is the options' value at mid.
        """
        return self._evaluate(with_value=True)

    def _evaluate(self, with_value: bool) -> BookGreeks:
        if not self._started:
            self._start()
        m = self.world
        now = m.now
        spot = m.state.mid
        held = self._held(now)
        value = 0.0
        if held.size:
            strike = self._strike[held]
            call = self._is_call[held]
            t = (self._expiry[held] - now) / SECONDS_PER_YEAR
            vol = m.surface.vol(strike, t, spot)
            g = bs_greeks(spot, strike, t, vol, call=call)
            w = m.ledger.options[self.account][held] * self._mult
            delta = float(w @ g.delta)
            gamma = float(w @ g.gamma)
            vega = float(w @ g.vega)
            theta = float(w @ g.theta)
            if with_value:
                value = float(w @ bs_price(spot, strike, t, vol, call=call))
        else:
            delta = gamma = vega = theta = 0.0
        self.option_delta = delta
        self.net_delta = delta + float(m.ledger.shares[self.account])
        self.net_gamma = gamma
        self.net_vega = vega
        self.net_theta = theta
        self.gex = gamma * spot * spot * 0.01
        return BookGreeks(delta, gamma, vega, theta, value)

    def _option_value(self, spot: float, now: float) -> float:
        held = self._held(now)
        if not held.size:
            return 0.0
        m = self.world
        strike = self._strike[held]
        t = (self._expiry[held] - now) / SECONDS_PER_YEAR
        vol = m.surface.vol(strike, t, spot)
        values = bs_price(spot, strike, t, vol, call=self._is_call[held])
        return float(m.ledger.options[self.account][held] @ values) * self._mult

    def mark(self, option_value: float | None = None) -> None:
        """Mark the book at the current mid and surface and update the P&L figures.

        Since the previous mark, the value of the positions held changed by
        ``option value now - option value then - option basis`` (the basis being what new option
        positions were worth at mid when traded) plus ``shares * spot now - shares then * spot
        then - share basis`` (new hedge shares at their decision mid) plus the cash that expiries
        paid; that is the gamma/theta part. Premium edge and hedge costs were booked as trades
        and fills happened. ``option_value`` (currency, at the current mid) saves recomputing it
        when the caller has just valued the book.
        """
        if not self._started:
            self._start()
            return
        m = self.world
        led = m.ledger
        acct = self.account
        spot = float(m.state.mid)
        now = m.now
        if option_value is None:
            option_value = self._option_value(spot, now)
        cash = int(led.cash[acct])
        shares = int(led.shares[acct])
        expiry_cash = (cash - self._mark_cash) - self._option_cash - self._share_cash
        self.pnl_gamma_theta += (
            (option_value - self._mark_option_value - self._option_basis)
            + (shares * spot - self._mark_shares * self._mark_spot - self._share_basis)
            + expiry_cash / 100.0
        )
        self._mark_cash = cash
        self._mark_shares = shares
        self._mark_spot = spot
        self._mark_option_value = option_value
        self._option_cash = 0
        self._option_basis = 0.0
        self._share_cash = 0
        self._share_basis = 0.0
        self._last_mark_time = now

    def value(self) -> float:
        """Mark-to-market value of the account now (currency): cash + shares + options at mid."""
        if not self._started:
            self._start()
        m = self.world
        led = m.ledger
        spot = float(m.state.mid)
        return (
            led.cash[self.account] / 100.0
            + float(led.shares[self.account]) * spot
            + self._option_value(spot, m.now)
        )

    # ------------------------------------------------------------------ quoting
    def quote(self, contract: int, side: int, qty: int) -> float | None:
        """Price per share at which this dealer takes the other side of a customer on ``side``.

        ``side`` is the customer's (+1 the customer buys, so this is the dealer's ask); ``qty`` in
        contracts. ``None`` = no quote (expired or not yet listed contract, bid under one tick,
        risk limits).
        """
        c = self._checked_request(contract, side, qty)
        m = self.world
        now = m.now
        if self._expiry[c] <= now or m.chain.expired[c] or not m.chain.is_listed[c]:
            return self._refuse()
        cfg = self.cfg
        spot = float(m.state.mid)
        mk = self.marks.get(m, c, spot)
        tick = cfg.option_tick
        edge = cfg.min_half_spread_ticks * tick
        if side < 0 and mk.mid - edge < tick - 1e-12:  # its bid could not reach one tick
            return self._refuse()
        dq = -side * int(qty)  # the dealer's side of the trade, in contracts
        d_gamma = dq * mk.gamma * self._mult
        if self._beyond_limits(d_gamma, dq * mk.vega * self._mult):
            return self._refuse()
        price = self._leland_price(c, side, spot, mk, d_gamma)
        if side > 0:
            price = math.ceil(max(price, mk.mid + edge) / tick - 1e-9) * tick
            price = max(price, tick)
        else:
            price = math.floor(min(price, mk.mid - edge) / tick + 1e-9) * tick
            if price < tick - 1e-12:
                return self._refuse()
        self._last_quote = (c, now, spot, mk)
        return round(price, 10)

    def _checked_request(self, contract: int, side: int, qty: int) -> int:
        """The chain row of a customer's request, once its side, size and contract are valid
        (a malformed request raises ValueError)."""
        if side not in (1, -1):
            raise ValueError(
                f"side must be +1 (customer buys) or -1 (customer sells), got {side!r}"
            )
        if isinstance(qty, bool) or not isinstance(qty, (int, np.integer)) or qty < 1:
            raise ValueError(f"qty must be a whole number of contracts >= 1, got {qty!r}")
        if not self._started:
            self._start()
        n = self._expiry.size
        if (
            isinstance(contract, bool)
            or not isinstance(contract, (int, np.integer))
            or not (0 <= contract < n)
        ):
            raise ValueError(f"contract must be a chain row in [0, {n - 1}], got {contract!r}")
        return int(contract)

    def _refuse(self) -> None:
        """No quote (counted in ``quotes_refused``)."""
        self.quotes_refused += 1
        return None

    def _beyond_limits(self, d_gamma: float, d_vega: float) -> bool:
        """Whether a trade adding ``d_gamma`` and ``d_vega`` takes an exposure beyond its limit
        (a trade that reduces the exposure never does)."""
        cfg = self.cfg
        g_after = self.net_gamma + d_gamma
        v_after = self.net_vega + d_vega
        return (abs(g_after) > cfg.gamma_limit and abs(g_after) > abs(self.net_gamma)) or (
            abs(v_after) > cfg.vega_limit and abs(v_after) > abs(self.net_vega)
        )

    def _leland_price(
        self, c: int, side: int, spot: float, mk: ContractMarks, d_gamma: float
    ) -> float:
        """Black-Scholes at the Leland vol of the dealer's side, shifted for its vega inventory
        (currency per share, before the option tick grid); ``d_gamma`` is the trade's gamma,
        which sets the rebalancing interval the dealer's policy expects."""
        cfg = self.cfg
        k = self.round_trip_cost()
        gap = self.policy.expected_interval(abs(self.net_gamma) + abs(d_gamma), spot, mk.vol, k)
        gap = max(gap, self.look_gap)
        le = (
            leland_number(mk.vol, k, gap / SECONDS_PER_YEAR)
            if math.isfinite(gap) and mk.vol > 0
            else 0.0
        )
        # Leland: a short option costs more to replicate, a long one less
        factor = 1.0 + le if side > 0 else max(1.0 - le, 0.0)
        inventory = cfg.inventory_vol * max(-1.0, min(1.0, self.net_vega / cfg.vega_limit))
        vol_q = max(mk.vol * math.sqrt(factor) - inventory, 0.0)
        return bs_price(spot, float(self._strike[c]), mk.t, vol_q, call=bool(self._is_call[c]))

    def on_option_trade(self, contract: int, qty_for_dealer: int, premium: float) -> None:
        """Book a customer trade: ``qty_for_dealer`` contracts (+ bought) at ``premium`` per share.

        The ledger already holds the position and the cash; here the dealer books its premium
        edge against the surface mid, and adds the trade's Greeks to its running figures so
        that risk limits hold between looks.
        """
        if not self._started:
            self._start()
        m = self.world
        c = int(contract)
        q = int(qty_for_dealer)
        last = self._last_quote
        if last is not None and last[0] == c and last[1] == m.now:
            mk = last[3]
        else:
            mk = self.marks.get(m, c, float(m.state.mid))
        cents = to_cents(premium * self._mult) * abs(q)
        cash = -cents if q > 0 else cents
        mid_value = q * mk.mid * self._mult
        self._option_cash += cash
        self._option_basis += mid_value
        self.pnl_premium += mid_value + cash / 100.0
        self.option_delta += q * mk.delta * self._mult
        self.net_delta += q * mk.delta * self._mult
        self.net_gamma += q * mk.gamma * self._mult
        self.net_vega += q * mk.vega * self._mult
        spot = float(m.state.mid)
        self.gex = self.net_gamma * spot * spot * 0.01
        if q > 0:
            self.contracts_bought += q
        else:
            self.contracts_sold -= q

    # ------------------------------------------------------------------ hedging
    def act(self) -> None:
        m = self.world
        if not self._started:
            self._start()
        if m.now - self._last_mark_time >= self.cfg.mark_interval_seconds:
            self.mark(self._evaluate(with_value=True).value)
        else:
            self._evaluate(with_value=False)
        if not self.hedging:
            return
        spot = float(m.state.mid)
        cost = self.round_trip_cost()
        inner = max(
            self.policy.inner_band(self.net_gamma, spot, m.state.vol, cost) * self.close_factor(),
            float(self.cfg.min_trade_shares),
        )
        outer = self.cfg.outer_band_multiple * inner
        self.bands.observe(-self.net_delta, inner, outer)
        if m.book_view.halted:
            self.hedge_waits += 1
            return
        if self.cfg.execution is HedgeExecution.banded:
            self._work_banded(inner, outer, spot)
            return
        trade = self.policy.decide(self.net_delta, self.net_gamma, spot, m.state.vol, m.now, cost)
        if trade:
            self._target = self.net_delta + trade
        elif self._target is not None:
            rest = self._target - self.net_delta
            if abs(rest) < self.cfg.min_trade_shares:
                self._target = None
            else:
                trade = round(rest)
        if trade:
            self._execute(trade, spot)

    def close_factor(self) -> float:
        """Multiplier on the inner band now: ``close_band_factor`` in the session's last
        ``close_window_seconds``, else 1. Dealers carry less delta into the night (no hedging
        while the market is shut), so the gap accumulated inside the band during the day is
        traded late: short gamma buys after a rising day and long gamma sells it, the hedging
        demand that Baltussen, Da, Lammers & Martens (2021) tie to last-half-hour momentum."""
        cfg = self.cfg
        if cfg.close_window_seconds <= 0.0:
            return 1.0
        left = SECONDS_PER_DAY - time_of_day(self.world.now)
        return cfg.close_band_factor if left <= cfg.close_window_seconds else 1.0

    def _work_banded(self, inner: float, outer: float, spot: float) -> None:
        """The two-band rule (:mod:`agents.hedge_execution`): hold, rest passively, or cross
        the part beyond the ``cross_to`` target and rest the rest. A cross or a resting order
        smaller than ``min_trade_shares`` is not sent."""
        cfg = self.cfg
        action = self._capped_action(-self.net_delta, inner, outer)
        minimum = cfg.min_trade_shares
        if abs(action.cross) >= minimum:
            self.passive.cancel()  # the crossing children must not meet the dealer's own order
            self._execute(action.cross, spot)
        if abs(action.rest) >= minimum:
            self.passive.rest(action.rest, spot)
        else:
            self.passive.cancel()

    def _capped_action(self, deviation: float, inner: float, outer: float) -> BandAction:
        """:func:`band_action` with the outer band widened by the participation ceiling and the
        crossing part cut to it (:class:`ParticipationCap`), for a short-gamma book. When the
        ceiling cuts and widening is on (a relaxation time), the outer band is widened to the gap
        the cut leaves open, so the part held back rests passively instead of crossing at the
        next look; what rests is then the wider band's part."""
        cfg = self.cfg
        now = self.world.now
        cap = self.cap
        wide = outer * cap.band_multiple(now)
        action = band_action(deviation, inner, wide, cfg.cross_to, cfg.passive_urgency_floor)
        if not self._feeds_on_itself():
            return action
        cross = cap.limit(action.cross, now, self._market_volume())
        if cross == action.cross:
            return action
        left = deviation - cross
        cap.widen(now, abs(left) / outer)
        wide = outer * cap.band_multiple(now)
        rest = band_action(left, inner, wide, cfg.cross_to, cfg.passive_urgency_floor).rest
        return BandAction(cross, rest)

    def _feeds_on_itself(self) -> bool:
        """Whether the book's hedging feeds on its own impact: short gamma. A short-gamma hedge
        buys after a rise, its impact raises the price, and the higher price asks for more
        buying (the loop gains ``1 / (1 - lambda |G|)``, Frey & Stremme 1997, Mathematical
        Finance 7:351); a long-gamma hedge's impact shrinks its next hedge, so the participation
        ceiling is kept for the short-gamma book."""
        return self.net_gamma < 0.0

    def _market_volume(self) -> float:
        """Shares printed in the participation window up to the last completed step
        (everyone's, the dealer's own too)."""
        return self.world.state.volume(self.cfg.participation_window_seconds)

    def _execute(self, trade: int, decision_mid: float) -> None:
        if self._feeds_on_itself():
            trade = self.cap.limit(int(trade), self.world.now, self._market_volume())
        if not trade:
            return
        sent = self.aggressive.send(trade, decision_mid)
        self.hedge_orders += sent.orders
        self.hedge_waits += sent.waits
        if sent.remaining == 0:
            self._target = None

    def on_fill(self, order_id: int, side: int, qty: int, price: int, aggressor: bool) -> None:
        """A hedge fill: book its cost against the decision mid and track the hedge.

        Aggressive fills belong to the child orders being sent now; a passive fill is the
        resting order's, costed against the mid when it was placed.
        """
        if aggressor:
            self.aggressive.filled += qty
            mid = self.aggressive.decision_mid
        else:
            self.passive.filled += qty
            mid = self.passive.decision_mid
        px = price * self.world.tick
        self.pnl_hedge_cost -= side * qty * (px - mid)
        self._share_cash -= side * qty * price * self._cents_per_tick
        self._share_basis += side * qty * mid
        self.hedge_flow += side * qty
        self.hedge_trades += 1
        self.net_delta += side * qty
        self.cap.record(self.world.now, qty, aggressor)

    def on_close(self, day: int) -> None:
        """Mark the book after the day's expiries are settled; no hedge order rests overnight."""
        self.passive.cancel()
        self.mark(self._evaluate(with_value=True).value)


class DealersPopulation(Population):
    """The option dealers, sharing one :class:`SurfaceMarks`; records their summed Greeks and
    hedge flow."""

    name = "dealers"
    RECORDED: ClassVar[dict[str, str]] = {
        "dealer_delta": "net_delta",
        "dealer_gamma": "net_gamma",
        "dealer_gex": "gex",
        "dealer_hedge_flow": "hedge_flow",
    }

    @classmethod
    def build(
        cls, world: World, cfg: DealersConfig, stream: np.random.Generator
    ) -> DealersPopulation:
        return cls(cfg, stream, list(populate(world, cfg, stream)))

    def summary(self) -> dict[str, Any] | None:
        """How the hedges were worked, summed over the dealers: the share of looks with the
        delta gap beyond the inner (passive) and the outer (crossing) band, the crossing child
        orders sent and how many of them the participation ceiling cut, and the shares the
        resting hedge orders filled."""
        dealers = [d for d in self.members if isinstance(d, OptionDealer)]
        if not dealers:
            return None
        looks = sum(d.bands.looks for d in dealers)
        return {
            "looks": looks,
            "outside_inner_fraction": sum(d.bands.outside_inner for d in dealers) / max(1, looks),
            "outside_outer_fraction": sum(d.bands.outside_outer for d in dealers) / max(1, looks),
            "crossing_orders": sum(d.hedge_orders for d in dealers),
            "participation_cap_binds": sum(d.cap.binds for d in dealers),
            "passive_filled_shares": sum(d.passive.filled for d in dealers),
        }


def hedge_policy_of(cfg: DealersConfig) -> HedgePolicy:
    """The hedging policy the config names (``hedge=false``: no hedging)."""
    kind = cfg.policy if cfg.hedge else HedgePolicyKind.none
    return make_policy(
        kind,
        band_shares=cfg.band_shares,
        interval_seconds=cfg.interval_seconds,
        gamma_multiplier=cfg.gamma_multiplier,
        horizon_seconds=cfg.gamma_horizon_seconds,
        risk_aversion=cfg.risk_aversion,
        min_trade_shares=cfg.min_trade_shares,
    )


def populate(world: World, cfg: DealersConfig, stream: np.random.Generator) -> list[OptionDealer]:
    """Build ``cfg.n`` dealers sharing one :class:`SurfaceMarks`; cash endowment, no shares."""
    if cfg.n == 0:
        return []
    marks = SurfaceMarks()
    dealers = []
    for _ in range(cfg.n):
        d = OptionDealer(world, stream, cfg.rate, cfg, marks, policy=hedge_policy_of(cfg))
        d.initial_cash = float(cfg.initial_cash)
        d.initial_shares = 0
        dealers.append(d)
    return dealers
