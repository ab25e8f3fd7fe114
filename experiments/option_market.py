"""The options market in book mode (``market.options.venue: book``): one order book per series.

:class:`OptionMarket` is the simulator's side of :class:`market.exchange.option_venue.OptionVenue`:

- listing: each chain row's series is listed on the venue once the chain lists it, and delisted
  (its resting orders pulled) when it expires;
- settlement: every :class:`~market.exchange.option_venue.OptionPrint` is settled through the
  model's :class:`~market.exchange.clearing.Clearing` (premium = price ticks x the option tick per
  share, times the multiplier, in exact cents; open interest recorded in the chain), and a dealer
  on either side is told of its fill (``on_option_trade``), so its positions come from prints;
- dealers quote: each step every dealer not curtailed runs its quote pass
  (:mod:`agents.dealer_quoting`) over the series it covers (``dealers_per_series`` dealers per
  series, drawn once per seed); a :class:`~market.exchange.risk_protection.QuoteRiskMonitor`
  counts what each dealer's orders executed and, past a limit, pulls all its quotes
  (``mass_cancel``) for a cooldown;
- customers: :meth:`OptionMarket.customer_order` turns a customer's order into an IOC priced
  ``customer_cross_ticks`` beyond the opposite best, or (a ``rest_share`` of orders) a limit order
  at its own side's best that rests for ``rest_lifetime_seconds``; what cannot fill is refused;
  a customer's new order in a series first cancels its own order resting there (no self-trade);
- takers: :meth:`OptionMarket.take` sends a participant's immediate-or-cancel order at its own
  limit (the stale-quote takers of :mod:`agents.stale_quote_taker`) and tells it what came from
  dealers' quotes; :meth:`OptionMarket.tops` is the top of book they read;
- packages: :attr:`OptionMarket.complex` is the complex order book over the venue
  (:mod:`experiments.complex_market`): customers' packages, the dealers' auction answers;
  its leg prints settle here like every print, and ``option_trades`` names each print's
  package route;
- halts: every halt of the underlying's book (circuit breaker, LULD pause, stop logic, call
  auctions) is mirrored onto ``halt_all`` and its end onto ``reopen_all``, at the step's
  boundaries (before participants act and after they have: a halt a price band triggers in the
  middle of a step reaches the option books at its end).

Units: prices on the venue in integer option ticks (``agents.dealers.option_tick`` currency per
share each), quantities in contracts, times in clock seconds; side +1 buy / -1 sell.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from agents.dealer_quoting import (
    DealerQuoter,
    QuotingParams,
    SeriesMarks,
    coverage,
    quote_charge,
    stress_multiplier,
)
from agents.dealers import OptionDealer
from agents.world import OptionFill, OptionTake, OptionTops
from experiments.complex_market import ComplexMarket
from experiments.stale_order_taking import StaleOrderTaking
from market.exchange.clearing import to_cents
from market.exchange.clock import SECONDS_PER_YEAR
from market.exchange.event_clock import EventClock
from market.exchange.option_venue import OptionPrint, OptionVenue
from market.exchange.risk_protection import QuoteRiskMonitor
from market.options.pricing import bs_greeks, unchecked_bs_price

#: the year used for the ATM reference vol of the stress multiplier (one month)
_ATM_REFERENCE_YEARS = 21 / 252
#: columns of the top-of-book table (``option_top.parquet``)
TOP_COLUMNS = (
    "time",
    "contract",
    "bid_px",
    "bid_sz",
    "ask_px",
    "ask_sz",
    "theo",
    "strike",
    "is_call",
    "mid",
)
#: seconds the marks of a pass are reused while the mid and the surface stay put
_MARKS_MAX_AGE = 10.0
#: out-of-the-money moneyness bins of the half-spread figures in the summary: ``100 * log(strike
#: / mid)`` for calls, its negative for puts (so > 0 is out of the money), in percent
MONEYNESS_BINS = {
    "itm_over_5pct": (-np.inf, -5.0),
    "itm_2_5pct": (-5.0, -2.0),
    "itm_0.5_2pct": (-2.0, -0.5),
    "atm": (-0.5, 0.5),
    "otm_0.5_2pct": (0.5, 2.0),
    "otm_2_5pct": (2.0, 5.0),
    "otm_over_5pct": (5.0, np.inf),
}
#: seconds over which the underlying's spread is averaged for the stress multiplier
_SPREAD_AVERAGE_SECONDS = 60.0


class OptionMarket:
    """The option books of one model (see the module docstring); ``model`` is the
    :class:`experiments.model.HedgeLoopModel` (after its clearing exists), ``coverage_rng`` and
    ``order_rng`` its streams for the dealers' coverage and the customers' choice to rest,
    ``events`` the event counter the option venue numbers its messages and prints from (the one
    the underlying venue shares, so both books' events are in one exact order), ``complex_rngs``
    the complex order book's streams for auction tie-breaks and the customers' choice to rest a
    package, ``take_rng`` the stream ordering the dealers asked to take a stale resting order
    (:mod:`experiments.stale_order_taking`)."""

    def __init__(
        self,
        model: Any,
        coverage_rng: np.random.Generator,
        order_rng: np.random.Generator,
        *,
        events: EventClock,
        complex_rngs: tuple[np.random.Generator, np.random.Generator],
        take_rng: np.random.Generator,
    ) -> None:
        self.model = model
        cfg = self.cfg = model.cfg.market.options
        self.tick = float(model.cfg.agents.dealers.option_tick)
        mult = model.ledger.multiplier
        cents = self.tick * mult * 100
        if abs(cents - round(cents)) > 1e-9 or round(cents) < 1:
            raise ValueError(
                f"agents.dealers.option_tick x multiplier must be a whole number of cents in book "
                f"mode, got {self.tick} x {mult}"
            )
        self.cents_per_tick = round(cents)
        if not isinstance(events, EventClock):
            raise ValueError(f"events must be an EventClock, got {events!r}")
        self.events = events
        self.venue = OptionVenue(
            len(model.chain),
            clock=lambda: model.now,
            on_trade=self._on_print,
            events=self.events,
            tick_size=self.tick,
            max_cross_ticks=cfg.max_cross_ticks,
        )
        self.monitor = QuoteRiskMonitor(
            cfg.risk_window_seconds,
            cfg.risk_max_contracts,
            cfg.risk_max_delta,
            cfg.risk_max_vega,
            cfg.risk_cooldown_seconds,
        )
        self.quoters = self._build_quoters(coverage_rng)
        self.stale_orders: StaleOrderTaking | None = None
        if cfg.dealers_take_stale and self.quoters:
            self.stale_orders = StaleOrderTaking(self, take_rng, cfg.dealer_take_edge_ticks)
        self._order_rng = order_rng
        self._listed = np.zeros(len(model.chain), dtype=bool)
        self._theo = np.zeros(len(model.chain))
        self._spread: float | None = None  # the underlying's averaged spread (ticks)
        self._marks: tuple[tuple[float, int, int], float, SeriesMarks] | None = None
        self._atm: tuple[tuple[float, int], float] | None = None  # (mid, surface id), ATM vol
        self._message_prints: list[OptionPrint] = []
        self._to_curtail: list[int] = []
        self._resting: list[tuple[float, int, int, int]] = []  # (when, seq, contract, order id)
        self._resting_ids: set[tuple[int, int]] = set()
        self.prints: list[OptionPrint] = []
        self.top_rows: list[np.ndarray] = []
        self.inventory_rows: list[tuple[float, int, int, float, int, int]] = []
        self.halts = 0
        self.customer = dict.fromkeys(
            ("orders", "contracts", "filled", "rested", "rested_filled", "replaced", "refused"), 0
        )
        #: the marks and stress multiplier of the last quote pass (the dealers' package quotes)
        self.last_marks: SeriesMarks | None = None
        self.last_stress = 1.0
        self.sync_listings()
        self.complex = ComplexMarket(self, *complex_rngs)

    @property
    def now(self) -> float:
        """The model's clock (seconds)."""
        return float(self.model.now)

    def is_listed(self, contract: int) -> bool:
        """Whether ``contract`` is listed on the venue now."""
        return bool(self._listed[contract])

    def _build_quoters(self, rng: np.random.Generator) -> dict[int, DealerQuoter]:
        dealers = [d for d in self.model.populations["dealers"] if isinstance(d, OptionDealer)]
        if not dealers:
            return {}
        cfg = self.cfg
        params = QuotingParams(
            size=cfg.quote_size,
            tick=self.tick,
            requote_ticks=cfg.requote_ticks,
            fill_widen_ticks=cfg.fill_widen_ticks,
            fill_widen_seconds=cfg.fill_widen_seconds,
            inventory_buckets=cfg.inventory_buckets,
        )
        rows = coverage(len(self.model.chain), len(dealers), cfg.dealers_per_series, rng)
        return {d.account: DealerQuoter(d, r, params) for d, r in zip(dealers, rows, strict=True)}

    # ------------------------------------------------------------------ listing and halts
    def sync_listings(self) -> None:
        """List every series the chain lists and has not expired, not yet on the venue."""
        chain = self.model.chain
        for c in np.flatnonzero(chain.is_listed & ~chain.expired & ~self._listed).tolist():
            self.venue.list_series(c)
            self._listed[c] = True

    def delist_expired(self) -> None:
        """Delist the series the chain has expired (their resting orders are pulled)."""
        gone = np.flatnonzero(self.model.chain.expired & self._listed)
        if gone.size:
            # first: a delisting tells the complex book of the leg's top, which it then reads
            self.complex.delisted(set(gone.tolist()))
        for c in gone.tolist():
            self.venue.delist(c)
            self._listed[c] = False
        for q in self.quoters.values():
            q.forget_rows(gone)

    def sync_halt(self) -> None:
        """Mirror the underlying's halt state onto the option venue."""
        book = self.model.book
        if book.halted and not self.venue.halted:
            self.venue.halt_all(str(book.halt_reason or "halted"))
            self.halts += 1
        elif not book.halted and self.venue.halted:
            self.venue.reopen_all()
            self._curtail_pending()

    def before_act(self) -> None:
        """The step's option-market work before participants act: listings, the halt state,
        resting customer orders whose lifetime ran out, and the dealers' quote pass."""
        self.sync_listings()
        self.sync_halt()
        self._expire_resting()
        self.complex.expire_resting(self.model.now)
        self.quote_pass()

    # ------------------------------------------------------------------ dealers
    def marks(self, live: np.ndarray) -> SeriesMarks:
        """Surface marks of the ``live`` rows now (rows not live hold zeros)."""
        m = self.model
        chain = m.chain
        spot = float(m.state.mid)
        n = len(chain)
        rows = np.flatnonzero(live)
        strike = np.asarray(chain.strike, dtype=float)[rows]
        call = np.asarray(chain.is_call, dtype=bool)[rows]
        t = (np.asarray(chain.expiry, dtype=float)[rows] - m.now) / SECONDS_PER_YEAR
        vol = np.asarray(m.surface.vol(strike, t, spot), dtype=float)
        g = bs_greeks(spot, strike, t, vol, call=call)  # checks the inputs once
        out = SeriesMarks(spot, *(np.zeros(n) for _ in range(6)))
        out.theo[rows] = unchecked_bs_price(spot, strike, t, vol, np.where(call, 1.0, -1.0))
        out.vol[rows] = vol
        out.t[rows] = t
        out.gamma[rows] = g.gamma
        out.vega[rows] = g.vega
        out.delta[rows] = g.delta
        return out

    def _fresh_marks(self, live: np.ndarray) -> SeriesMarks:
        """The marks of the last pass while the mid, the surface and the live series are the
        same and they are younger than :data:`_MARKS_MAX_AGE` (time decay alone moves a theo
        far less than a tick in that time), else new ones."""
        m = self.model
        key = (float(m.state.mid), id(m.surface), int(live.sum()))
        cached = self._marks
        if cached is not None and cached[0] == key and m.now - cached[1] < _MARKS_MAX_AGE:
            return cached[2]
        marks = self.marks(live)
        self._marks = (key, m.now, marks)
        return marks

    def stress(self) -> float:
        """The half-spread multiplier under stress (:func:`stress_multiplier`, at most
        ``stress_max``), from the
        realised vol and the underlying's spread averaged over about a minute (one step's
        spread flickers with every order at the touch, and would re-quote every series)."""
        m = self.model
        spot = float(m.state.mid)
        key = (spot, id(m.surface))  # the surface is replaced when it changes, never mutated
        if self._atm is None or self._atm[0] != key:
            self._atm = (key, float(m.surface.vol(spot, _ATM_REFERENCE_YEARS, spot)))
        atm = self._atm[1]
        spread = float(m.state.spread_ticks)
        if spread > 0:
            w = min(1.0, m.dt / _SPREAD_AVERAGE_SECONDS)
            self._spread = (
                spread if self._spread is None else self._spread + w * (spread - self._spread)
            )
        cfg = self.cfg
        return min(
            stress_multiplier(
                float(m.state.vol),
                atm,
                self._spread if self._spread is not None else 1.0,
                cfg.stress_vol_weight,
                cfg.stress_spread_weight,
            ),
            cfg.stress_max,
        )

    def quote_pass(self) -> None:
        """Every dealer not curtailed re-quotes the series due (:mod:`agents.dealer_quoting`)."""
        if not self.quoters:
            return
        m = self.model
        live = m.chain.live(m.now) & self._listed
        if not live.any() or not m.state.mid > 0:
            return
        marks = self._fresh_marks(live)
        self._theo = marks.theo
        stress = self.stress()
        cfg = self.cfg
        charge = quote_charge(
            marks,
            (self._spread if self._spread is not None else 1.0) * m.tick,
            cfg.hedge_cost_weight,
            cfg.vega_charge_weight,
            cfg.vol_of_vol,
            cfg.vega_holding_seconds / SECONDS_PER_YEAR,
        )
        self.last_marks, self.last_stress = marks, stress
        for account, q in self.quoters.items():
            if self.monitor.curtailed(account, m.now):
                continue
            q.quote_pass(self.venue, marks, live, m.now, stress, charge)
            self._curtail_pending()
        if self.stale_orders is not None:
            self.stale_orders.run(marks, live, stress, charge)

    def curtail_pending(self) -> None:
        """Carry out the curtailments the prints of the last message triggered."""
        self._curtail_pending()

    def start_message(self) -> list[OptionPrint]:
        """Forget the prints of earlier messages; the list returned collects the next ones."""
        self._message_prints.clear()
        return self._message_prints

    def customer_package(
        self, account: int, legs: Sequence[tuple[int, int]], side: int, qty: int
    ) -> OptionFill:
        """A customer's package order on the complex order book
        (:meth:`experiments.complex_market.ComplexMarket.customer_package`). Its own orders
        resting in the legs' series are cancelled first: legging in must not trade with them."""
        for contract, _ in legs:
            if self._listed[contract]:
                self._replace_own(account, contract)
        return self.complex.customer_package(account, legs, side, qty)

    def _curtail_pending(self) -> None:
        """Pull every quote and order of the dealers the monitor curtailed during the last
        message (prints may not send messages, so this runs after it)."""
        while self._to_curtail:
            account = self._to_curtail.pop(0)
            self.venue.mass_cancel(account)
            self.quoters[account].forget()

    # ------------------------------------------------------------------ customers
    def customer_order(self, account: int, contract: int, side: int, qty: int) -> OptionFill:
        """A customer's order for ``qty`` contracts on ``side`` in ``contract`` (module
        docstring): what filled at once, at what average premium per share, and what rests."""
        c = self.customer
        c["orders"] += 1
        c["contracts"] += qty
        if not self._listed[contract]:
            c["refused"] += qty
            return OptionFill(0, 0.0)
        self._replace_own(account, contract)
        self._message_prints.clear()
        if self._order_rng.random() < self.cfg.rest_share:
            resting = self._rest(account, contract, side, qty)
        else:
            resting = 0
            self._cross(account, contract, side, qty)
        prints = [p for p in self._message_prints if (p.buyer if side > 0 else p.seller) == account]
        self._message_prints.clear()
        filled = sum(p.qty for p in prints)
        price = sum(p.qty * p.price for p in prints) * self.tick / filled if filled else 0.0
        c["filled"] += filled
        c["rested"] += resting
        c["refused"] += qty - filled - resting
        self._curtail_pending()
        return OptionFill(filled, price, resting)

    def _replace_own(self, account: int, contract: int) -> None:
        """Cancel the account's resting orders in ``contract``: a new order replaces them, so a
        customer never trades with itself."""
        for c, oid in self.venue.orders_of(account):
            if c == contract:
                self.venue.cancel(c, oid)
                self._resting_ids.discard((c, oid))
                self.customer["replaced"] += 1

    def _cross(self, account: int, contract: int, side: int, qty: int) -> None:
        """An IOC ``customer_cross_ticks`` beyond the opposite best (nothing if that is empty)."""
        bid_px, _, ask_px, _ = self.venue.top()
        opposite = int(ask_px[contract] if side > 0 else bid_px[contract])
        if opposite <= 0:
            return
        x = self.cfg.customer_cross_ticks
        price = opposite + x if side > 0 else max(opposite - x, 1)
        self.venue.ioc(account, contract, side, price, qty)

    def _rest(self, account: int, contract: int, side: int, qty: int) -> int:
        """A limit order at its own side's best (the theoretical value on the grid if that side
        is empty) for ``rest_lifetime_seconds``; returns the contracts left resting."""
        bid_px, _, ask_px, _ = self.venue.top()
        price = int(bid_px[contract] if side > 0 else ask_px[contract])
        if price <= 0:
            theo = self._theo[contract] / self.tick
            price = max(int(np.floor(theo + 1e-9)) if side > 0 else int(np.ceil(theo - 1e-9)), 1)
        oid = self.venue.limit(account, contract, side, price, qty)
        if oid is None:
            return 0
        left = qty - sum(p.qty for p in self._message_prints)
        if left > 0:
            self._resting_ids.add((contract, oid))
            when = self.model.now + self.cfg.rest_lifetime_seconds
            heapq.heappush(self._resting, (when, oid, contract, oid))
        return left

    def _expire_resting(self) -> None:
        now = self.model.now
        while self._resting and self._resting[0][0] <= now:
            _, _, contract, oid = heapq.heappop(self._resting)
            self._resting_ids.discard((contract, oid))
            if self._listed[contract]:
                self.venue.cancel(contract, oid)

    # ------------------------------------------------------------------ takers
    def tops(self) -> OptionTops:
        """The venue's top of book (read-only arrays the next read refreshes), its tick and
        whether it is halted."""
        bid_px, bid_sz, ask_px, ask_sz = self.venue.top()
        return OptionTops(bid_px, bid_sz, ask_px, ask_sz, self.tick, self.venue.halted)

    def take(self, account: int, contract: int, side: int, price: int, qty: int) -> OptionTake:
        """An immediate-or-cancel order of ``account`` at limit ``price`` (option ticks): what
        it took, at what average premium per share, and of that what came from dealers' quotes;
        ``refused`` if the venue refused it (halted, not listed, price protection)."""
        self._message_prints.clear()
        filled = self.venue.ioc(account, contract, side, price, qty)
        mine = [p for p in self._message_prints if (p.buyer if side > 0 else p.seller) == account]
        self._message_prints.clear()
        self._curtail_pending()
        if filled is None:
            return OptionTake(0, 0.0, refused=True)
        dealers = [p for p in mine if (p.seller if side > 0 else p.buyer) in self.quoters]
        return OptionTake(*self._average(mine), *self._average(dealers))

    def _average(self, prints: list[OptionPrint]) -> tuple[int, float]:
        """Contracts of ``prints`` and their average premium per share (0.0 when none)."""
        qty = sum(p.qty for p in prints)
        return qty, (sum(p.qty * p.price for p in prints) * self.tick / qty if qty else 0.0)

    # ------------------------------------------------------------------ prints
    def _on_print(self, record: OptionPrint) -> None:
        """Settle one print, tell a dealer on either side and count its executions."""
        premium = record.price * self.tick
        m = self.model
        if to_cents(premium * m.ledger.multiplier) != record.price * self.cents_per_tick:
            raise ValueError(f"the premium of {record.price} ticks is not a whole number of cents")
        m.clearing.settle_option(record.buyer, record.seller, record.contract, record.qty, premium)
        self.prints.append(record)
        self._message_prints.append(record)
        self.complex.note_print(record.seq)
        for owner, order, dq in (
            (record.buyer, record.buyer_order, record.qty),
            (record.seller, record.seller_order, -record.qty),
        ):
            if (record.contract, order) in self._resting_ids:
                self.customer["rested_filled"] += record.qty
            q = self.quoters.get(owner)
            if q is not None:
                self._dealer_fill(q, record, dq, premium)

    def _dealer_fill(self, q: DealerQuoter, record: OptionPrint, dq: int, premium: float) -> None:
        d = q.dealer
        m = self.model
        d.on_option_trade(record.contract, dq, premium)
        q.on_fill(record.contract, 1 if dq > 0 else -1, m.now)
        mk = d.marks.get(m, record.contract, float(m.state.mid))
        size = record.qty * m.ledger.multiplier
        if self.monitor.record(
            d.account, m.now, record.qty, abs(mk.delta) * size, abs(mk.vega) * size
        ):
            self._to_curtail.append(d.account)

    # ------------------------------------------------------------------ outputs
    def record(self) -> None:
        """A row of the top-of-book table per listed series and of the inventory table per
        dealer (at each record interval)."""
        m = self.model
        rows = np.flatnonzero(self._listed)
        bid_px, bid_sz, ask_px, ask_sz = self.venue.top()
        block = np.empty((rows.size, len(TOP_COLUMNS)))
        block[:, 0] = m.now
        block[:, 1] = rows
        block[:, 2] = bid_px[rows]
        block[:, 3] = bid_sz[rows]
        block[:, 4] = ask_px[rows]
        block[:, 5] = ask_sz[rows]
        block[:, 6] = self._theo[rows]
        block[:, 7] = np.asarray(m.chain.strike, dtype=float)[rows]
        block[:, 8] = np.asarray(m.chain.is_call, dtype=bool)[rows]
        block[:, 9] = m.state.mid
        self.top_rows.append(block)
        live = m.chain.live(m.now) & self._listed
        for account, q in self.quoters.items():
            covered = int(np.count_nonzero(live[q.rows]))
            quoted = 0 if self.monitor.curtailed(account, m.now) else q.quoted(live)
            held = int(m.ledger.options[account].sum())
            self.inventory_rows.append((m.now, account, held, q.dealer.net_vega, quoted, covered))

    def tables(self) -> dict[str, pd.DataFrame]:
        """``option_trades``, ``option_top``, ``option_inventory`` and ``option_curtailments``."""
        group_of = self.model.clearing.group_of
        names = [*self.model.populations, "other"]
        trades = pd.DataFrame(self.prints, columns=list(OptionPrint._fields))
        for side in ("buyer", "seller"):
            trades[f"{side}_population"] = [names[int(group_of[a])] for a in trades[side]]
        # "coa", "resting" (a contra complex order) or "leg_in" for package legs, else ""
        trades["package_route"] = self.complex.route_column(
            trades["package_id"].tolist(), trades["seq"].tolist()
        )
        top = self.top_frame()
        inventory = pd.DataFrame(
            self.inventory_rows,
            columns=["time", "dealer", "net_contracts", "net_vega", "quoted", "covered"],
        )
        curtailments = pd.DataFrame(
            self.monitor.events, columns=["time", "dealer", "reason", "until"]
        )
        return {
            "option_trades": trades,
            "option_top": top,
            "option_inventory": inventory,
            "option_curtailments": curtailments,
        }

    def top_frame(self) -> pd.DataFrame:
        """The top-of-book table (:data:`TOP_COLUMNS`; prices in ticks, ``theo`` and ``strike``
        and the underlying's ``mid`` in currency)."""
        top = pd.DataFrame(
            np.concatenate(self.top_rows) if self.top_rows else np.empty((0, len(TOP_COLUMNS))),
            columns=list(TOP_COLUMNS),
        )
        ints = ("contract", "bid_px", "bid_sz", "ask_px", "ask_sz")
        return top.astype({**dict.fromkeys(ints, "int64"), "is_call": bool})

    def summary(self) -> dict[str, Any]:
        """The option market's figures for summary.json."""
        inv = pd.DataFrame(
            self.inventory_rows,
            columns=["time", "dealer", "net_contracts", "net_vega", "quoted", "covered"],
        )
        dealers = {}
        for account, q in self.quoters.items():
            rows = inv[inv.dealer == account]
            covered = int(rows.covered.sum())
            dealers[str(account)] = {
                "series_covered": int(q.rows.size),
                "requotes": q.requotes,
                "unchanged_quotes": q.unchanged,
                "one_sided_quotes": q.one_sided,
                "repriced_sides": q.repriced,
                "curtailments": self.monitor.curtailments.get(account, 0),
                "quoted_share": float(rows.quoted.sum() / covered) if covered else None,
                "net_contracts": int(self.model.ledger.options[account].sum()),
                "net_vega": float(q.dealer.net_vega),
            }
        v = self.venue
        contracts = int(sum(p.qty for p in self.prints))
        return {
            "venue": "book",
            "messages": v.n_messages,
            "prints": v.n_prints,
            "contracts": contracts,
            "events": v.n_events,
            "events_all_books": self.events.last,
            "refused": dict(v.n_refused),
            "repriced_quote_sides": dict(v.n_repriced),
            "halts": self.halts,
            "curtailments": len(self.monitor.events),
            "customers": dict(self.customer),
            "dealers": dealers,
            "quoted_half_spread": quoted_half_spreads(self.top_frame(), self.tick),
            "dealer_stale_takes": (
                None if self.stale_orders is None else self.stale_orders.summary()
            ),
            "packages": self.complex.summary(self.prints, contracts),
        }


def quoted_half_spreads(top: pd.DataFrame, tick: float) -> dict[str, dict[str, float | None]]:
    """Quoted half-spreads of the series quoted on both sides with a theo of at least 10 ticks
    (below that one tick is already a large share), over every record time of ``top``: for all
    of them (``all``) and by out-of-the-money moneyness (:data:`MONEYNESS_BINS`), the mean and
    median half-spread as a share of the theoretical value (``mean_share``, ``median_share``),
    the median in option ticks (``median_ticks``) and how many quotes (``n``)."""
    both = top[(top.bid_px > 0) & (top.ask_px > 0) & (top.theo >= 10 * tick)]
    ticks = (both.ask_px - both.bid_px) / 2
    share = ticks * tick / both.theo
    otm = 100 * np.log(both.strike / both.mid) * np.where(both.is_call, 1.0, -1.0)
    out: dict[str, dict[str, float | None]] = {}
    for name, mask in [("all", np.ones(len(both), dtype=bool))] + [
        (name, (otm >= lo) & (otm < hi)) for name, (lo, hi) in MONEYNESS_BINS.items()
    ]:
        n = int(np.count_nonzero(mask))
        out[name] = {
            "mean_share": float(share[mask].mean()) if n else None,
            "median_share": float(share[mask].median()) if n else None,
            "median_ticks": float(ticks[mask].median()) if n else None,
            "n": n,
        }
    return out
