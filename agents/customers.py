"""Option customers: buy and sell calls and puts at the dealers' quotes.

Their flow sets the dealers' true positions and the open interest by strike and expiry. Each
action is one option order through ``world.fill_option`` (the best dealer quote on request, or
an order on the series' book with ``market.options.venue: book``), drawn from a configurable mix
of flow types (:class:`FlowType`):

- ``protective_put``: buy out-of-the-money puts (strike / spot in ``put_moneyness``);
- ``speculative_call``: buy out-of-the-money calls (``call_moneyness``);
- ``covered_call``: write (sell) out-of-the-money calls, ``covered_call_moneyness`` (the stock
  they cover is held outside the simulated market);
- ``call_frenzy``: heavy buying of near-the-money calls (``frenzy_moneyness``), sized
  ``frenzy_size_multiplier`` times the usual, in the nearest expiry if ``frenzy_nearest_expiry``;
  its intensity chases the recent return: it is multiplied by
  ``1 + frenzy_chase * max(r, 0) / 1%`` where ``r`` is the log return over ``frenzy_window_seconds``
  (the whole population's activity rises by exactly the extra frenzy intensity); with
  ``frenzy_side`` -1 the same flow writes the calls instead (a control with the dealers' gamma
  reversed);
- ``put_selling``: sell out-of-the-money puts (``put_selling_moneyness``).

Weights are relative intensities (``*_weight``, >= 0, at least one > 0). With ``typed=False``
each action draws its flow type from the weights; with ``typed=True`` each customer gets one type
for the whole run (drawn from the weights at construction) and a chasing frenzy makes frenzy
customers trade more often (extra trades per action) while the others keep their pace.

Contracts: only listed, live contracts expiring more than ``min_seconds_to_expiry`` from now;
the expiry is drawn from ``expiry_weights`` (empty = equal weights; expired and not yet listed
ones drop out), the strike uniformly among the listed strikes whose moneyness (strike / mid) lies
in the flow's range, or the listed strike nearest the range if none does. The weights are a taste
for time to expiry: one per ``market.chain.expiry_days`` entry, read as that many trading days to
expiry (the tenor), and each listed expiry gets the weight of the tenor nearest its days to expiry
today (:func:`tenor_weights`), so on day 0 each configured expiry has its own weight and expiries
a rolling listing adds later inherit the weight of the tenor they have. Sizes are uniform whole
contracts in ``[contracts_min, contracts_max]``. A customer whose cash is not positive only sells
(and does not buy back a short).

Closing. Customers also trade back what they hold, so open interest settles instead of growing
for ever: each open contract a customer holds is closed at ``close_hazard`` per trading day (a
constant hazard, so holdings last ``1 / close_hazard`` days on average unless they expire first).
It is carried by the customers' own trades: before each trade a customer closes instead of
opening with probability ``close_hazard * Q / (rate * 23,400 s * E[close size])`` (at most 1,
:meth:`OptionCustomer.close_probability`), where ``Q`` is its open contracts still more than
``min_seconds_to_expiry`` from expiry, and trades back one of those positions, chosen in
proportion to its size, for a drawn size capped at that position, through the same dealer quotes
as an opening trade with the side reversed. A position worth less than ``min_close_value`` per
share at the surface's mid is left to expire, as real holders and writers do (no dealer bids for
it, and a writer keeps what premium is left): that trade opens instead, so the opening flow is
the same whatever is left to expire. Because the closing flow grows with ``Q``
while the opening flow does not, a customer's holdings settle where the two balance (Little's
law: holdings = opening flow x holding time), and on day 0, with little open yet, most trades
open. The hazard is a modelling choice, not a measured figure: real customers close much of what
they open before expiry (the CBOE open/close volume data split customer volume into opening and
closing trades, both large), and a constant hazard is the simplest rule whose open interest is
stationary, at a level read directly from it.

The dealers' opening book (``agents.dealers.initial_book``) is executed by this population: while
it is not complete, each acting customer executes the next ``opening_trades_per_act`` of its
trades instead of its own flow, so every opening position is a recorded trade between a customer
and a dealer. Trades the dealers refuse are dropped and counted in ``opening_refused``.

Packages (book mode): with probability ``market.options.spread_share`` a new trade is sent as
``qty`` two-leg packages to the complex order book instead (:mod:`agents.customer_spreads`).

Units and signs: side +1 buy / -1 sell (the customer's); quantities in contracts; cash in
currency; moneyness is strike / spot.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence

import numpy as np

from agents.base import Participant, Population
from agents.customer_config import FLOW_TYPES, CustomersConfig, FlowType
from agents.customer_spreads import ChainRows, package_kind, package_legs
from agents.world import World
from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR
from market.options.pricing import bs_price

#: flow type -> (customer side, is_call); the frenzy's side is ``frenzy_side``
FLOW_TRADE = {
    FlowType.protective_put: (1, False),
    FlowType.speculative_call: (1, True),
    FlowType.covered_call: (-1, True),
    FlowType.call_frenzy: (1, True),
    FlowType.put_selling: (-1, False),
}
OPENING = "opening"
CLOSING = "closing"
_FRENZY = FLOW_TYPES.index(FlowType.call_frenzy)


def chase_factor(cfg: CustomersConfig, recent_return: float) -> float:
    """Multiplier on the frenzy intensity: ``1 + frenzy_chase * max(r, 0) / 0.01``."""
    return 1.0 + cfg.frenzy_chase * max(recent_return, 0.0) / 0.01


def population_boost(cfg: CustomersConfig, recent_return: float) -> float:
    """Factor on the population's activity: ``(W + w_frenzy * (chase - 1)) / W``.

    ``W`` is the sum of the flow weights: the other flows keep their intensity and the frenzy's
    grows by the chase factor.
    """
    w_frenzy = cfg.call_frenzy_weight
    if w_frenzy <= 0.0 or cfg.frenzy_chase <= 0.0 or recent_return <= 0.0:
        return 1.0
    total = float(cfg.weights().sum())
    return (total + w_frenzy * (chase_factor(cfg, recent_return) - 1.0)) / total


class OpeningBook:
    """The dealers' opening book as a queue of customer trades ``(contract, side, qty)``.

    Shared by the whole customer population; the first customers to act work through it.
    """

    def __init__(self, trades: list[tuple[int, int, int]]) -> None:
        self.pending: deque[tuple[int, int, int]] = deque(trades)
        self.planned = len(trades)
        self.done = 0
        self.refused = 0


class OptionCustomer(Participant):
    """An end user of options: one trade of its flow mix per action at the dealers' quotes.

    Per-agent counters (contracts), keyed by flow type name, ``"opening"`` and ``"closing"``:
    ``contracts_bought``, ``contracts_sold``, ``refused`` (no dealer quoted); ``premium_paid``
    (currency, net of premium received).
    """

    population = "customers"

    def __init__(
        self,
        world: World,
        stream: np.random.Generator,
        rate: float,
        cfg: CustomersConfig | None = None,
        opening: OpeningBook | None = None,
        flow_type: FlowType | None = None,
    ) -> None:
        super().__init__(world, stream, rate)
        self.cfg = cfg = cfg if cfg is not None else CustomersConfig()
        self.opening = opening if opening is not None else OpeningBook([])
        self.flow_type = flow_type
        names = [ft.value for ft in FLOW_TYPES] + [OPENING, CLOSING]
        self.contracts_bought = dict.fromkeys(names, 0)
        self.contracts_sold = dict.fromkeys(names, 0)
        self.refused = dict.fromkeys(names, 0)
        self.premium_paid = 0.0
        #: packages filled at once (per flow type); packages neither filled nor resting
        self.packages_traded = dict.fromkeys(names, 0)
        self.packages_refused = 0
        self._weights = cfg.weights()
        self._cum_weights = np.cumsum(self._weights).tolist()
        self._ranges = [cfg.moneyness(ft) for ft in FLOW_TYPES]
        chain = world.chain
        self._strike = np.asarray(chain.strike, dtype=float)
        self._expiry = np.asarray(chain.expiry, dtype=float)
        self._is_call = np.asarray(chain.is_call, dtype=bool)
        self._expiries, self._expiry_of_row = np.unique(self._expiry, return_inverse=True)
        self._expiry_day = np.round(self._expiries / SECONDS_PER_DAY).astype(np.int64) - 1
        self._tenors = np.asarray(list(world.expiry_days), dtype=np.int64)
        _check_expiry_weights(cfg, self._tenors)
        self._weights_day: int | None = None
        self._expiry_weights = np.ones(self._expiries.size)

    # ------------------------------------------------------------------ actions
    def act(self) -> None:
        if self.opening.pending:
            self._work_opening()
            return
        if self.flow_type is None and self._maybe_close():
            return
        m = self.world
        cfg = self.cfg
        r = m.state.log_return(cfg.frenzy_window_seconds)
        f = chase_factor(cfg, r)
        if self.flow_type is None:
            cum = self._cum_weights
            if f != 1.0:
                w = self._weights.copy()
                w[_FRENZY] *= f
                cum = np.cumsum(w).tolist()
            flow = FLOW_TYPES[bisect.bisect_right(cum, self.stream.random() * cum[-1])]
            self._trade(flow)
            return
        # A typed population's clock runs at the chasing-boosted rate for everyone: others thin
        # back to their own pace, frenzy customers add trades to reach theirs.
        boost = population_boost(cfg, r)
        if self.flow_type is FlowType.call_frenzy:
            extra = self.stream.poisson(max(f / boost - 1.0, 0.0))
            for _ in range(1 + int(extra)):
                if not self._maybe_close():
                    self._trade(self.flow_type)
        elif (boost <= 1.0 or self.stream.random() < 1.0 / boost) and not self._maybe_close():
            self._trade(self.flow_type)

    def _weights_by_tenor(self, today: int) -> np.ndarray:
        """Expiry weights (aligned with the listed expiries) for ``today``, cached per day."""
        if not self.cfg.expiry_weights:
            return self._expiry_weights  # all ones
        if self._weights_day != today:
            self._expiry_weights = tenor_weights(
                self.cfg.expiry_weights, self._tenors, self._expiry_day, today
            )
            self._weights_day = today
        return self._expiry_weights

    # ------------------------------------------------------------------ closing
    def closable(self) -> tuple[np.ndarray, np.ndarray]:
        """This customer's open positions it may trade back now: chain rows and signed positions
        (contracts, + = long), in contracts live for more than ``min_seconds_to_expiry``."""
        pos = self.world.ledger.options[self.account]
        rows = np.flatnonzero(pos)
        if rows.size:
            m = self.world
            rows = rows[
                ~m.chain.expired[rows]
                & (self._expiry[rows] > m.now + self.cfg.min_seconds_to_expiry)
            ]
        return rows, pos[rows]

    def worth_closing(self, contract: int) -> bool:
        """Whether ``contract`` is worth at least ``min_close_value`` per share at the surface's
        mid: a nearly worthless option is left to expire (no dealer bids for it, and a writer
        keeps the little premium left)."""
        if self.cfg.min_close_value <= 0.0:
            return True
        m = self.world
        spot = float(m.state.mid)
        strike = float(self._strike[contract])
        t = (float(self._expiry[contract]) - m.now) / SECONDS_PER_YEAR
        vol = float(m.surface.vol(strike, t, spot))
        value = float(bs_price(spot, strike, t, vol, call=bool(self._is_call[contract])))
        return value >= self.cfg.min_close_value

    def close_probability(self, held: np.ndarray) -> float:
        """Probability that a trade of this customer closes rather than opens.

        ``close_hazard * Q / (rate * 23,400 s * E[close size])``, at most 1, where ``Q`` is the
        contracts in ``held`` (signed positions) and ``E[close size]`` the expected size of a
        close (a drawn size capped at the chosen position). A trade closes a position chosen in
        proportion to its size, so each open contract is closed at ``close_hazard`` per trading
        day of the customer's clock. 0 without a hazard, a clock (``rate``) or positions.
        """
        cfg = self.cfg
        if cfg.close_hazard <= 0.0 or cfg.rate <= 0.0 or held.size == 0:
            return 0.0
        size = np.abs(held)
        q = float(size.sum())
        mean_close = float(size @ expected_capped_size(cfg.contracts_min, cfg.contracts_max, size))
        mean_close /= q
        return min(1.0, cfg.close_hazard * q / (cfg.rate * SECONDS_PER_DAY * mean_close))

    def _maybe_close(self) -> bool:
        """Close a position with :meth:`close_probability`; True if this trade was a close."""
        if self.cfg.close_hazard <= 0.0:
            return False
        rows, held = self.closable()
        p = self.close_probability(held)
        if p <= 0.0 or self.stream.random() >= p:
            return False
        size = np.abs(held)
        cum = np.cumsum(size)
        j = int(np.searchsorted(cum, self.stream.random() * cum[-1], side="right"))
        if not self.worth_closing(int(rows[j])):
            return False  # left to expire: this trade opens instead
        side = -1 if held[j] > 0 else 1  # trade back: sell a long, buy back a short
        if side > 0 and self.world.ledger.cash[self.account] <= 0:
            self.refused[CLOSING] += 1
            return True
        cfg = self.cfg
        qty = min(int(self.stream.integers(cfg.contracts_min, cfg.contracts_max + 1)), int(size[j]))
        self._execute(int(rows[j]), side, qty, CLOSING)
        return True

    def _work_opening(self) -> None:
        ob = self.opening
        for _ in range(self.cfg.opening_trades_per_act):
            if not ob.pending:
                break
            contract, side, qty = ob.pending.popleft()
            if self._execute(contract, side, qty, OPENING):
                ob.done += 1
            else:
                ob.refused += 1

    def pick_contract(self, flow: FlowType) -> int | None:
        """A live contract for ``flow`` (module docstring), or None if none is listed."""
        m = self.world
        now = m.now
        spot = m.state.mid
        tradable = m.chain.live(now)
        listed = np.bincount(self._expiry_of_row, weights=tradable, minlength=self._expiries.size)
        live_expiry = (listed > 0) & (self._expiries > now + self.cfg.min_seconds_to_expiry)
        if not live_expiry.any():
            return None
        if flow is FlowType.call_frenzy and self.cfg.frenzy_nearest_expiry:
            expiry = self._expiries[np.flatnonzero(live_expiry)[0]]
        else:
            cum = np.cumsum(self._weights_by_tenor(m.day) * live_expiry)
            if cum[-1] <= 0.0:
                return None
            pick = np.searchsorted(cum, self.stream.random() * cum[-1], side="right")
            expiry = self._expiries[int(pick)]
        _, is_call = FLOW_TRADE[flow]
        lo, hi = self._ranges[FLOW_TYPES.index(flow)]
        rows = np.flatnonzero((self._expiry == expiry) & (self._is_call == is_call))
        rows = rows[tradable[rows]]
        if rows.size == 0:
            return None
        mny = self._strike[rows] / spot
        inside = rows[(mny >= lo) & (mny <= hi)]
        if inside.size:
            return int(inside[self.stream.integers(inside.size)])
        # nothing listed in the range: the listed strike closest to it
        dist = np.maximum(lo - mny, 0.0) + np.maximum(mny - hi, 0.0)
        return int(rows[int(np.argmin(dist))])

    def _trade(self, flow: FlowType) -> None:
        side = self.cfg.frenzy_side if flow is FlowType.call_frenzy else FLOW_TRADE[flow][0]
        if side > 0 and self.world.ledger.cash[self.account] <= 0:
            self.refused[flow.value] += 1
            return
        contract = self.pick_contract(flow)
        if contract is None:
            self.refused[flow.value] += 1
            return
        cfg = self.cfg
        qty = int(self.stream.integers(cfg.contracts_min, cfg.contracts_max + 1))
        if flow is FlowType.call_frenzy:
            qty = max(1, math.ceil(qty * cfg.frenzy_size_multiplier))
        if not self._maybe_package(contract, side, qty, flow.value):
            self._execute(contract, side, qty, flow.value)

    def _maybe_package(self, contract: int, side: int, qty: int, label: str) -> bool:
        """With the book's spread share, send ``qty`` packages around ``contract`` to the
        complex order book instead (:mod:`agents.customer_spreads`); True if it did. Draws
        nothing when the share is 0, so such a run is the run without packages."""
        spread_share, *kind_shares = self.world.option_package_shares()
        if spread_share <= 0.0 or self.stream.random() >= spread_share:
            return False
        kind = package_kind(float(self.stream.random()), *kind_shares)
        m = self.world
        chain = ChainRows(self._strike, self._expiry, self._is_call, m.chain.live(m.now))
        legs = package_legs(contract, kind, chain)
        if legs is None:
            return False
        fill = m.fill_option_package(self.account, legs, side, qty)
        self.packages_refused += qty - fill.filled - fill.resting
        if fill.filled:
            self.packages_traded[label] += fill.filled
            self.premium_paid += side * fill.filled * fill.price * m.ledger.multiplier
        return True

    def _execute(self, contract: int, side: int, qty: int, label: str) -> bool:
        """Send one order; what neither filled nor rests counts as refused. True if any of it
        filled or rests (the counters hold only what filled at once)."""
        fill = self.world.fill_option(self.account, contract, side, qty)
        missed = qty - fill.filled - fill.resting
        if missed:
            self.refused[label] += missed
        if fill.filled == 0:
            return fill.resting > 0
        if side > 0:
            self.contracts_bought[label] += fill.filled
        else:
            self.contracts_sold[label] += fill.filled
        self.premium_paid += side * fill.filled * fill.price * self.world.ledger.multiplier
        return True


def expected_capped_size(lo: int, hi: int, cap: np.ndarray) -> np.ndarray:
    """``E[min(U, cap)]`` for ``U`` uniform on the whole numbers ``lo..hi`` (contracts), per
    entry of ``cap`` (whole contracts >= 0)."""
    cap = np.asarray(cap, dtype=float)
    c = np.clip(cap, lo, hi)
    # sizes lo..c count as drawn, sizes above c are capped at c
    mean = ((lo + c) * (c - lo + 1) / 2.0 + (hi - c) * c) / (hi - lo + 1)
    return np.where(cap < lo, cap, mean)


def _check_expiry_weights(cfg: CustomersConfig, tenors: np.ndarray) -> None:
    """``cfg.expiry_weights`` must be empty or have one weight per configured expiry day."""
    if cfg.expiry_weights and len(cfg.expiry_weights) != tenors.size:
        raise ValueError(
            f"agents.customers.expiry_weights must have one weight per market.chain.expiry_days "
            f"entry ({tenors.size}), got {len(cfg.expiry_weights)}"
        )


def tenor_weights(
    weights: Sequence[float], tenors: np.ndarray, expiry_days: np.ndarray, today: int
) -> np.ndarray:
    """Weight of each expiry (trading-day indices ``expiry_days``) on day ``today``: the weight of
    the configured tenor (``market.chain.expiry_days``, trading days from the first day)
    nearest its days to expiry ``expiry_day - today``, the shorter one on a tie. On day 0 each
    configured expiry gets exactly its own weight; later, an expiry listed by the rolling rule
    gets the weight of the tenor it now has."""
    w = np.asarray(weights, dtype=float)
    order = np.argsort(tenors, kind="stable")
    t, w = tenors[order], w[order]
    left = np.clip(np.searchsorted(t, expiry_days - today, side="left"), 0, t.size - 1)
    below = np.clip(left - 1, 0, t.size - 1)
    to_left = np.abs(expiry_days - today - t[below])
    take_below = to_left <= np.abs(t[left] - (expiry_days - today))
    return np.where(take_below, w[below], w[left])


def flow_totals(customers: list[OptionCustomer]) -> dict[str, dict[str, int]]:
    """Population totals: ``{"bought": {flow: contracts}, "sold": {...}, "refused": {...}}``."""
    names = [ft.value for ft in FLOW_TYPES] + [OPENING, CLOSING]
    out = {k: dict.fromkeys(names, 0) for k in ("bought", "sold", "refused")}
    for c in customers:
        for name in names:
            out["bought"][name] += c.contracts_bought[name]
            out["sold"][name] += c.contracts_sold[name]
            out["refused"][name] += c.refused[name]
    return out


class CustomersPopulation(Population):
    """The option customers and the dealers' opening book they work through.

    Each step, with a chasing frenzy configured, the population's activity rises with the recent
    return by :func:`population_boost`.
    """

    name = "customers"

    @classmethod
    def build(
        cls, world: World, cfg: CustomersConfig, stream: np.random.Generator
    ) -> CustomersPopulation:
        return cls(cfg, stream, list(populate(world, cfg, stream)))

    def observe(self, world: World) -> None:
        cfg = self.cfg
        if cfg.call_frenzy_weight <= 0.0 or cfg.frenzy_chase <= 0.0:
            self.activity_multiplier = 1.0
            return
        self.activity_multiplier = population_boost(
            cfg, world.state.log_return(cfg.frenzy_window_seconds)
        )


def populate(
    world: World, cfg: CustomersConfig, stream: np.random.Generator
) -> list[OptionCustomer]:
    """Build ``cfg.n`` customers (cash only) and the shared opening book of the dealers."""
    if cfg.n == 0:
        return []
    opening = OpeningBook(world.dealer_opening_book())
    types: list[FlowType | None] = [None] * cfg.n
    if cfg.typed:
        w = cfg.weights()
        draws = stream.choice(len(FLOW_TYPES), size=cfg.n, p=w / w.sum())
        types = [FLOW_TYPES[int(i)] for i in draws]
    customers = []
    for flow_type in types:
        c = OptionCustomer(world, stream, cfg.rate, cfg, opening, flow_type)
        c.initial_cash = float(cfg.initial_cash)
        c.initial_shares = 0
        customers.append(c)
    return customers
