"""Fast liquidity providers: two-sided quotes skewed by inventory; they withdraw under stress.

Each provider, when its clock fires, cancels its live quotes and replaces them (cancel-replace),
so its quotes never go stale by more than one action interval. Quotes are ``quote_levels`` price
levels a side, ``quote_size`` shares each, ``level_spacing_ticks`` apart, around a centre

    centre = mid - skew_per_share * inventory          (ticks; long -> both quotes lower)

with inventory = shares held - initial shares. The half spread in ticks is

    half = half_spread_ticks * (1 + vol_widening * max(0, vol / reference_vol - 1)
                                  + inventory_widening * |inventory| / inventory_limit)

where ``vol`` is the model's EWMA realised volatility (annualised). Quotes never cross the other
participants' best prices (the provider does not take liquidity with its quotes).

Stress rules (checked in this order at every action):

* **Withdrawal** (only if ``withdrawal_enabled``): when ``vol`` exceeds the provider's withdrawal
  threshold, or its loss today reaches ``loss_limit`` (mark-to-market value against the value at
  the start of the day), it cancels everything and stops quoting (``quoting = False``,
  ``withdrawn_since`` = the time, ``n_withdrawals`` += 1). It comes back once ``vol`` has stayed
  below its re-entry threshold for ``cooldown_seconds`` (observed at its own actions), and, if the
  loss limit caused the withdrawal, not before the next day (the loss limit is a daily stop).
  Thresholds are spread across providers by ``threshold_dispersion`` (each provider's are scaled
  by one factor drawn from U(1 - d, 1 + d)), so a crowd withdraws gradually as stress builds.
* **Inventory limit**: when ``|inventory| > inventory_limit`` the provider quotes only the side
  that reduces it (``inventory_action = reduce_only``) or sells/buys the excess down to
  ``dump_target * inventory_limit`` with a market order (``hot_potato``), then quotes the reducing
  side. This is not counted as a withdrawal.

P&L (currency, mark-to-market from the ledger): ``cash / 100 + shares * mid - initial value``.
Units: rates in actions per second, sizes in shares, spreads in ticks, volatilities annualised
(0.2 = 20%), times in seconds, loss limit in currency. Side +1 buy, -1 sell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from agents.base import Participant


def _check(name: str, value, lo=None, hi=None, *, lo_open: bool = False, hi_open: bool = False):
    """Range check naming ``agents.liquidity.<name>`` (config checks cannot import the config module)."""
    from experiments.config import check_range  # lazy: experiments.config imports this module

    check_range(f"agents.liquidity.{name}", value, lo, hi, lo_open=lo_open, hi_open=hi_open)


class InventoryAction(Enum):
    """What a provider does beyond its inventory limit."""

    reduce_only = "reduce_only"
    hot_potato = "hot_potato"


class WithdrawalReason(Enum):
    """Why a provider stopped quoting."""

    volatility = "volatility"
    loss_limit = "loss_limit"


@dataclass
class LiquidityConfig:
    """Parameters of the liquidity-provider population (see the module docstring for units)."""

    n: int = 20
    rate: float = 0.2
    quote_levels: int = 2
    quote_size: int = 100
    level_spacing_ticks: int = 1
    half_spread_ticks: float = 1.0
    skew_per_share: float = 0.002
    inventory_limit: int = 3000
    inventory_widening: float = 1.0
    inventory_action: InventoryAction = InventoryAction.reduce_only
    dump_target: float = 0.5
    loss_limit: float = 5000.0
    reference_vol: float = 0.2
    vol_widening: float = 1.0
    withdrawal_enabled: bool = True
    withdraw_vol: float = 0.8
    reentry_vol: float = 0.4
    cooldown_seconds: float = 120.0
    threshold_dispersion: float = 0.3
    initial_shares: int = 0
    initial_cash: float = 1_000_000.0

    def __post_init__(self) -> None:
        if isinstance(self.inventory_action, str):
            try:
                self.inventory_action = InventoryAction(self.inventory_action)
            except ValueError:
                allowed = ", ".join(a.value for a in InventoryAction)
                raise ValueError(
                    f"agents.liquidity.inventory_action must be one of {allowed}, "
                    f"got {self.inventory_action!r}"
                ) from None
        _check("n", self.n, 0, 100_000)
        _check("rate", self.rate, 0.0, 1000.0)
        _check("quote_levels", self.quote_levels, 1, 100)
        _check("quote_size", self.quote_size, 1, 10_000_000)
        _check("level_spacing_ticks", self.level_spacing_ticks, 1, 10_000)
        _check("half_spread_ticks", self.half_spread_ticks, 0.5, 10_000.0)
        _check("skew_per_share", self.skew_per_share, 0.0, 100.0)
        _check("inventory_limit", self.inventory_limit, 1, 1e12)
        _check("inventory_widening", self.inventory_widening, 0.0, 1000.0)
        _check("dump_target", self.dump_target, 0.0, 1.0)
        _check("loss_limit", self.loss_limit, 0.0, 1e15, lo_open=True)
        _check("reference_vol", self.reference_vol, 0.0, 10.0, lo_open=True)
        _check("vol_widening", self.vol_widening, 0.0, 1000.0)
        _check("withdraw_vol", self.withdraw_vol, 0.0, 100.0, lo_open=True)
        _check("reentry_vol", self.reentry_vol, 0.0, self.withdraw_vol, lo_open=True)
        _check("cooldown_seconds", self.cooldown_seconds, 0.0, 1e7)
        _check("threshold_dispersion", self.threshold_dispersion, 0.0, 1.0, hi_open=True)
        _check("initial_shares", self.initial_shares, -1e12, 1e12)
        _check("initial_cash", self.initial_cash, -1e15, 1e15)


class LiquidityProvider(Participant):
    """A fast two-sided market maker (see the module docstring).

    Public state: ``inventory`` (shares vs the endowment), ``quoting`` (bool), ``withdrawn_since``
    (clock seconds, ``None`` while quoting), ``n_withdrawals``, ``withdrawal_reason``,
    ``withdrawn_seconds`` (total time spent withdrawn, up to the last action), ``pnl`` (currency),
    ``n_dumps`` / ``dumped_shares`` (hot-potato market orders), ``withdraw_vol`` / ``reentry_vol``
    (this provider's own thresholds).
    """

    population = "liquidity"

    def __init__(
        self,
        model,
        stream: np.random.Generator,
        rate: float,
        cfg: LiquidityConfig,
        threshold_scale: float = 1.0,
    ) -> None:
        super().__init__(model, stream, rate)
        if not (threshold_scale > 0 and math.isfinite(threshold_scale)):
            raise ValueError(f"liquidity: threshold_scale must be finite and > 0, got {threshold_scale}")
        self.cfg = cfg
        self.withdraw_vol = cfg.withdraw_vol * threshold_scale
        self.reentry_vol = cfg.reentry_vol * threshold_scale
        self.quoting = True
        self.withdrawn_since: float | None = None
        self.withdrawal_reason: WithdrawalReason | None = None
        self.n_withdrawals = 0
        self.withdrawn_seconds = 0.0
        self.n_dumps = 0
        self.dumped_shares = 0
        self._calm_since: float | None = None
        self._quotes: dict[int, int] = {}  # side * price (ticks) -> order id
        self._day_start_value: float | None = None
        self._stopped_day: int | None = None

    # ------------------------------------------------------------------ observations
    @property
    def inventory(self) -> int:
        """Shares held beyond the endowment (+ long)."""
        return int(self.model.ledger.shares[self.unique_id]) - self.initial_shares

    def value(self, mid: float | None = None) -> float:
        """Mark-to-market value in currency at ``mid`` (default: the model's mid)."""
        led = self.model.ledger
        acc = self.unique_id
        px = self.model.state.mid if mid is None else mid
        return led.cash[acc] / 100.0 + int(led.shares[acc]) * px

    @property
    def initial_value(self) -> float:
        """Endowment valued at the first price (currency)."""
        return self.initial_cash + self.initial_shares * self.model.cfg.market.initial_price

    @property
    def pnl(self) -> float:
        """Mark-to-market P&L since the start (currency)."""
        return self.value() - self.initial_value

    @property
    def live_orders(self) -> list[int]:
        """Ids of the quotes left in the book at the last action (some may have filled since)."""
        return list(self._quotes.values())

    # ------------------------------------------------------------------ decisions
    def quote_prices(self, mid_ticks: float, inventory: int, vol: float) -> tuple[float, float]:
        """Unrounded (bid, ask) of the innermost level in ticks, from the mid, inventory and vol.

        The centre moves against inventory (long -> lower) and the half spread widens with
        volatility above ``reference_vol`` and with ``|inventory|``.
        """
        cfg = self.cfg
        centre = mid_ticks - cfg.skew_per_share * inventory
        half = cfg.half_spread_ticks * (
            1.0 + cfg.vol_widening * max(0.0, vol / cfg.reference_vol - 1.0)
        ) + self._widening(inventory)
        return centre - half, centre + half

    def _widening(self, inventory: int) -> float:
        cfg = self.cfg
        return cfg.half_spread_ticks * cfg.inventory_widening * abs(inventory) / cfg.inventory_limit

    def _cancel_all(self) -> None:
        cancel = self.model.venue.cancel
        for oid in self._quotes.values():
            cancel(oid)
        self._quotes.clear()

    def _withdraw(self, reason: WithdrawalReason, now: float) -> None:
        self._cancel_all()
        self.quoting = False
        self.withdrawn_since = now
        self.withdrawal_reason = reason
        self.n_withdrawals += 1
        self._calm_since = None

    def _return(self, now: float) -> None:
        self.withdrawn_seconds += now - self.withdrawn_since
        self.quoting = True
        self.withdrawn_since = None
        self.withdrawal_reason = None
        self._calm_since = None

    def act(self) -> None:
        m = self.model
        cfg = self.cfg
        now = m.now
        st = m.state
        vol = st.vol
        if self._day_start_value is None:
            self._day_start_value = self.initial_value
        if not self.quoting:
            if vol >= self.reentry_vol:
                self._calm_since = None
                return
            if self._calm_since is None:
                self._calm_since = now
            if now - self._calm_since < cfg.cooldown_seconds:
                return
            if self.withdrawal_reason is WithdrawalReason.loss_limit and self._stopped_day == m.day:
                return
            self._return(now)
        book = m.book
        if book.halted:
            # a halted book is crossed and ends in an auction: quote again on the reopened book
            self._cancel_all()
            return
        if cfg.withdrawal_enabled:
            if vol > self.withdraw_vol:
                self._withdraw(WithdrawalReason.volatility, now)
                return
            if self.value(st.mid) - self._day_start_value <= -cfg.loss_limit:
                self._stopped_day = m.day
                self._withdraw(WithdrawalReason.loss_limit, now)
                return
        acc = self.unique_id
        venue = m.venue
        inv = int(m.ledger.shares[acc]) - self.initial_shares
        limit = cfg.inventory_limit
        if inv > limit or inv < -limit:
            if cfg.inventory_action is InventoryAction.hot_potato:
                excess = abs(inv) - int(cfg.dump_target * limit)
                if excess > 0 and venue.market(acc, -1 if inv > 0 else 1, excess) is not None:
                    self.n_dumps += 1
                    self.dumped_shares += excess
                    inv = int(m.ledger.shares[acc]) - self.initial_shares
            sides = (-1,) if inv > 0 else (1,) if inv < 0 else (1, -1)
        else:
            sides = (1, -1)
        bb, ba = book.best_bid, book.best_ask
        ref = 0.5 * (bb + ba) if bb is not None and ba is not None and ba > bb else st.mid / m.tick
        bid, ask = self.quote_ticks(ref, inv, vol, bb, ba)
        want = self._ladder(bid, ask, sides)
        # keep quotes already resting at a wanted price (their queue place is worth keeping)
        self._cancel_unwanted(want)
        # never cross the others' best: the quotes rest, they do not take (own quotes left in
        # the book are all in ``want``, so they never lie on the wrong side of bid / ask)
        bb, ba = book.best_bid, book.best_ask
        crossed = False
        if ba is not None and bid >= ba:
            bid, crossed = ba - 1, True
        if bb is not None and ask <= bb:
            ask, crossed = bb + 1, True
        if crossed:
            want = self._ladder(bid, ask, sides)
            self._cancel_unwanted(want)
        quotes = self._quotes
        size = cfg.quote_size
        limit_order = venue.limit
        for key in want:
            if key not in quotes:
                quotes[key] = limit_order(acc, 1 if key > 0 else -1, key if key > 0 else -key, size)

    def quote_ticks(
        self, mid_ticks: float, inventory: int, vol: float, best_bid: int | None,
        best_ask: int | None,
    ) -> tuple[int, int]:
        """Innermost (bid, ask) in whole ticks, given the book's best prices before requoting.

        The skew never improves the touch: on the side that reduces its inventory the provider
        moves its quote at most to the current best price or to its unskewed price, whichever is
        better for it. An improving skew would move the mid, the next requote would skew from
        the moved mid, and the providers' inventory would compound into a drift of the price.
        """
        bid_f, ask_f = self.quote_prices(mid_ticks, inventory, vol)
        bid = math.floor(bid_f)
        ask = math.ceil(ask_f)
        if inventory > 0:
            unskewed = math.ceil(self.quote_prices(mid_ticks, 0, vol)[1] + self._widening(inventory))
            floor = unskewed if best_ask is None else min(unskewed, best_ask)
            ask = max(ask, floor)
        elif inventory < 0:
            unskewed = math.floor(self.quote_prices(mid_ticks, 0, vol)[0] - self._widening(inventory))
            cap = unskewed if best_bid is None else max(unskewed, best_bid)
            bid = min(bid, cap)
        if ask <= bid:
            ask = bid + 1
        return bid, ask

    def _ladder(self, bid: int, ask: int, sides: tuple[int, ...]) -> list[int]:
        """Signed price keys (side * ticks) of the wanted quotes, innermost first."""
        cfg = self.cfg
        step = cfg.level_spacing_ticks
        want: list[int] = []
        for side in sides:
            px = bid if side > 0 else ask
            for _ in range(cfg.quote_levels):
                if px < 1:
                    break
                want.append(side * px)
                px -= step * side
        return want

    def _cancel_unwanted(self, want: list[int]) -> None:
        quotes = self._quotes
        remaining = self.model.book.remaining
        cancel = self.model.venue.cancel
        for key in list(quotes):
            oid = quotes[key]
            if key in want and remaining(oid):
                continue
            cancel(oid)
            del quotes[key]

    def on_close(self, day: int) -> None:
        # the loss limit is a daily stop: tomorrow's losses count from tonight's mark
        self._day_start_value = self.value()


def populate(model, cfg: LiquidityConfig, stream: np.random.Generator) -> list[LiquidityProvider]:
    """Create ``cfg.n`` providers, each with its own threshold scale."""
    if cfg.n == 0:
        return []
    d = cfg.threshold_dispersion
    scales = stream.uniform(1.0 - d, 1.0 + d, cfg.n) if d > 0 else np.ones(cfg.n)
    members = []
    for i in range(cfg.n):
        a = LiquidityProvider(model, stream, cfg.rate, cfg, float(scales[i]))
        a.initial_shares = cfg.initial_shares
        a.initial_cash = cfg.initial_cash
        members.append(a)
    return members
