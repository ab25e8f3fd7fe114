"""Fast liquidity providers: two-sided quotes skewed by inventory; they withdraw under stress.

Each provider, when its clock fires, re-prices its quotes: quotes still wanted at the same price
stay in the book (keeping their queue place), the others are cancelled and replaced. Quotes are
``quote_levels`` price levels a side, ``quote_size`` shares each, ``level_spacing_ticks`` apart.
The innermost pair is built around the current mid ``m`` (ticks)::

    centre = m - skew_per_share * inventory            (long -> both quotes lower)
    half   = half_spread_ticks * (1 + vol_widening * max(0, vol / reference_vol - 1)
                                    + inventory_widening * |inventory| / inventory_limit)
    bid    = floor(centre - half),   ask = ceil(centre + half)

with ``inventory`` = shares held - initial shares and ``vol`` the market's EWMA realised
volatility (annualised; a halt counts in it as one return, see
:class:`market.exchange.market_state.MarketState`). Two rules keep quoting from feeding on
itself:

* the skew never improves the touch: on the side that reduces its inventory a provider quotes
  no better than the current best price or its own unskewed price, whichever is better for it.
  (An improving skew moves the mid; the next requote would skew from the moved mid, and the
  providers' common inventory would compound into a drift of the price.)
* quotes never cross the other participants' best prices: providers rest, they do not take.

Size in storms (off by default: ``size_vol_exponent`` 0): new quotes carry ``quote_size *
clip((reference_vol / sigma_mem) ** size_vol_exponent, size_floor, 1)`` shares, with ``sigma_mem``
the provider's own memory of ``vol`` (:mod:`agents.volatility_memory`, six windows of half-lives
30 minutes to 20 trading days, fed at its actions while quoting). Market makers cut size as
volatility rises and restore it only as they forget the storm; quotes already resting keep the
size they were sent with.

Stress rules, checked in this order at every action:

* **Halt**: while the book is halted the provider pulls its quotes and waits for the reopening.
  On the reopening every provider acts at once (before the clocks draw: market makers re-quote
  on the reopening message around the auction price, not at their next requote), and one out
  for volatility comes back if ``reopen_vol_tolerance`` (``r``) is above 0, accepting the
  volatility the pause leaves: it withdraws again for volatility only above ``(1 + r)`` times
  the volatility at the reopening, until the close. Without this a pause turns into a vacuum: the
  sweep into the pause and the hollow book's prints lift the volatility estimate, providers
  stay out, and the thin book trips the stop logic again and again (docs/participants.md).
* **Withdrawal** (only if ``withdrawal_enabled``): when ``vol`` exceeds the provider's withdrawal
  threshold, or its loss today reaches ``loss_limit`` (mark-to-market value against the value at
  the start of the day), it cancels everything and stops quoting (``quoting = False``,
  ``withdrawn_since`` = the time, ``n_withdrawals`` += 1). It comes back once ``vol`` has stayed
  below its re-entry threshold for ``cooldown_seconds`` (seen at its own actions), or, calm or
  not, once it has been out for ``max_withdrawal_seconds`` (a market without providers can stay
  too jumpy to look calm, yet they do come back); after a loss-limit withdrawal not before the
  next day (a daily stop). Back in, the usual checks apply at once, so a provider that returns
  into a market still above its withdrawal threshold pulls out again, unless
  ``return_vol_tolerance`` (``t``) is above 0: then a provider that came back on the clock
  has accepted the new regime, quotes wider (``vol_widening``) and withdraws again for volatility
  only above ``(1 + t)`` times the volatility it came back into, until the close (a vacuum that
  its own absence keeps jumpy cannot keep it out all day). Each provider's thresholds are
  the configured ones times its own factor from U(1 - d, 1 + d), ``d = threshold_dispersion``,
  so that a crowd pulls out gradually as stress builds.
* **Inventory limit**: beyond ``|inventory| > inventory_limit`` the provider quotes only the side
  that reduces it (``inventory_action = reduce_only``), or first sells/buys the excess down to
  ``dump_target * inventory_limit`` with a market order (``hot_potato``). This is not counted
  as a withdrawal.

P&L (currency, mark-to-market from the ledger): ``cash / 100 + shares * mid - initial value``.
Units: rates in actions per second, sizes in shares, spreads in ticks, volatilities annualised
(0.2 = 20%), times in seconds, the loss limit in currency. Side +1 buy, -1 sell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import numpy as np

from agents.base import Participant, Population, as_enum
from agents.volatility_memory import VolatilityMemory, log_spaced, power_weights
from agents.world import World
from market.validation import Validated, param


class InventoryAction(Enum):
    """What a provider does beyond its inventory limit."""

    reduce_only = "reduce_only"
    hot_potato = "hot_potato"


class WithdrawalReason(Enum):
    """Why a provider stopped quoting."""

    volatility = "volatility"
    loss_limit = "loss_limit"


@dataclass
class LiquidityConfig(Validated):
    """Parameters of the liquidity-provider population (units in the module docstring).

    Inventory is shares held minus ``initial_shares``; ``vol`` is the model's EWMA volatility.
    """

    config_path: ClassVar[str] = "agents.liquidity"

    n: int = param(20, lo=0, hi=100_000, unit="agents", doc="number of providers")
    rate: float = param(
        0.2,
        lo=0.0,
        hi=1000.0,
        unit="actions/s",
        doc="requotes (with the stress checks) per provider",
    )
    quote_levels: int = param(2, lo=1, hi=100, unit="levels", doc="price levels quoted per side")
    quote_size: int = param(100, lo=1, hi=10_000_000, unit="shares", doc="size of each quote")
    level_spacing_ticks: int = param(
        1, lo=1, hi=10_000, unit="ticks", doc="distance between a provider's levels"
    )
    half_spread_ticks: float = param(
        1.0,
        lo=0.5,
        hi=10_000.0,
        unit="ticks",
        doc="base half-spread of the innermost pair around the mid",
    )
    skew_per_share: float = param(
        0.002,
        lo=0.0,
        hi=100.0,
        unit="ticks per share",
        doc="quote centre moves by -this * inventory; the skew never improves the touch",
    )
    inventory_limit: int = param(
        3000,
        lo=1,
        hi=1e12,
        unit="shares",
        doc="beyond `|inventory|` of this, `inventory_action` applies; plausible: HFTs' net "
        "positions stayed within about 3,000 E-mini contracts on 6 May 2010, 4% of the "
        "75,000-contract program (Kirilenko et al. 2017), a few hundred to a few thousand "
        "shares per provider here",
        plausible=(200, 5000),
    )
    inventory_widening: float = param(
        1.0,
        lo=0.0,
        hi=1000.0,
        doc="adds this * `|inventory| / inventory_limit` to the half-spread's factor (base 1)",
    )
    inventory_action: InventoryAction = param(
        InventoryAction.reduce_only,
        choices=InventoryAction,
        doc="beyond the limit: `reduce_only` (quote the reducing side only) or `hot_potato` "
        "(market order)",
    )
    dump_target: float = param(
        0.5,
        lo=0.0,
        hi=1.0,
        unit="fraction of `inventory_limit`",
        doc="inventory a `hot_potato` market order leaves; plausible: HFTs cut positions by "
        "half or more at once in 2010 (Kirilenko et al. 2017)",
        plausible=(0.0, 0.6),
    )
    loss_limit: float = param(
        5000.0,
        lo=0.0,
        hi=1e15,
        lo_open=True,
        unit="currency",
        doc="daily mark-to-market loss that withdraws a provider until the next day",
    )
    reference_vol: float = param(
        0.2,
        lo=0.0,
        hi=10.0,
        lo_open=True,
        unit="annualised",
        doc="volatility above which quotes widen",
    )
    vol_widening: float = param(
        1.0,
        lo=0.0,
        hi=1000.0,
        doc="adds this * `max(0, vol / reference_vol - 1)` to the half-spread's factor (base 1)",
    )
    size_vol_exponent: float = param(
        0.0,
        lo=0.0,
        hi=10.0,
        doc="`kappa`: quote size scales as `min(1, (reference_vol / sigma_mem) ** kappa)`, "
        "floored at `size_floor`; 0 = the same size whatever the volatility",
    )
    size_floor: float = param(
        0.25,
        lo=0.0,
        hi=1.0,
        lo_open=True,
        unit="fraction",
        doc="least share of `quote_size` quoted in a storm",
    )
    withdrawal_enabled: bool = param(
        True,
        choices=(True, False),
        doc="`false` switches withdrawal (volatility and loss limit) off",
    )
    withdraw_vol: float = param(
        1.0,
        lo=0.0,
        hi=100.0,
        lo_open=True,
        unit="annualised",
        doc="volatility above which a provider withdraws; plausible: several times a normal "
        "day's 15-20%, as the HFTs that paused in 2010 (CFTC-SEC 2010)",
        plausible=(0.4, 3.0),
    )
    reentry_vol: float = param(
        0.5,
        lo=0.0,
        hi="withdraw_vol",
        lo_open=True,
        unit="annualised",
        doc="volatility below which the cool-down towards a return runs",
    )
    cooldown_seconds: float = param(
        120.0,
        lo=0.0,
        hi=1e7,
        unit="s",
        doc="how long `vol` must stay below `reentry_vol` (seen at its own actions)",
    )
    max_withdrawal_seconds: float = param(
        1800.0,
        lo=0.0,
        hi=1e9,
        unit="s",
        doc="a withdrawal ends after this long, calm or not (a loss-limit one not before the "
        "next day); plausible: liquidity came back within minutes in 2010, about 20 at most "
        "(CFTC-SEC 2010)",
        plausible=(60.0, 1800.0),
    )
    return_vol_tolerance: float = param(
        0.0,
        lo=0.0,
        hi=100.0,
        unit="fraction",
        doc="after a return on the clock, withdraw for volatility only above `(1 + t)` times the "
        "vol it came back into, until the close; 0 = off",
    )
    threshold_dispersion: float = param(
        0.3,
        lo=0.0,
        hi=1.0,
        hi_open=True,
        unit="fraction",
        doc="each provider's `withdraw_vol` and `reentry_vol` are scaled by a U(1 - d, 1 + d) draw",
    )
    reopen_vol_tolerance: float = param(
        0.5,
        lo=0.0,
        hi=100.0,
        unit="fraction",
        doc="a reopening auction ends a volatility withdrawal; back in, the provider withdraws "
        "for volatility only above `(1 + t)` times the vol at the reopening, until the close; "
        "0 = a reopening brings no one back",
    )
    initial_shares: int = param(0, lo=-1e12, hi=1e12, unit="shares", doc="endowment per provider")
    initial_cash: float = param(
        1_000_000.0, lo=-1e15, hi=1e15, unit="currency", doc="endowment per provider"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        # the providers compare against members, while a config file gives the value
        self.inventory_action = as_enum(
            "agents.liquidity.inventory_action", self.inventory_action, InventoryAction
        )


#: the providers' memory of volatility: 6 log-spaced windows from 30 minutes to 20 trading days,
#: weights ``k ** -1`` (the latent investors' default windows)
_MEMORY_WINDOWS = (1800.0, 468_000.0, 6, 1.0)


def size_multiplier(cfg: LiquidityConfig, sigma_mem: float) -> float:
    """Share of ``quote_size`` quoted at remembered volatility ``sigma_mem`` (annualised):
    ``clip((reference_vol / sigma_mem) ** kappa, size_floor, 1)``, 1 with ``kappa = 0``."""
    if cfg.size_vol_exponent == 0.0 or sigma_mem <= cfg.reference_vol:
        return 1.0
    return max(cfg.size_floor, (cfg.reference_vol / sigma_mem) ** cfg.size_vol_exponent)


class LiquidityProvider(Participant):
    """A fast two-sided market maker (see the module docstring).

    Public state: ``inventory`` (shares beyond the endowment), ``quoting`` (bool),
    ``withdrawn_since`` (clock seconds; ``None`` while quoting), ``n_withdrawals``,
    ``withdrawal_reason``, ``withdrawn_seconds`` (time spent withdrawn before the last return),
    ``pnl`` (currency), ``n_dumps`` / ``dumped_shares`` (hot-potato market orders),
    ``withdraw_vol`` / ``reentry_vol`` (this provider's own thresholds), ``live_orders``.
    """

    population = "liquidity"
    wants_fills = True  # fills tell it which quotes are gone without asking the book

    def __init__(
        self,
        world: World,
        stream: np.random.Generator,
        rate: float,
        cfg: LiquidityConfig,
        threshold_scale: float = 1.0,
    ) -> None:
        super().__init__(world, stream, rate)
        if not (threshold_scale > 0 and math.isfinite(threshold_scale)):
            raise ValueError(
                f"liquidity: threshold_scale must be finite and > 0, got {threshold_scale}"
            )
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
        self.n_reopen_returns = 0
        self._calm_since: float | None = None
        # side * price (ticks) -> [order id, shares left]; and order id -> that key
        self._quotes: dict[int, list[int]] = {}
        self._key_of: dict[int, int] = {}
        self._last_quote: tuple | None = None  # (bid, ask, sides) of the last requote
        self._last_count = 0
        self._day_start_value: float | None = None
        self._stopped_day: int | None = None
        self._tolerated_vol = 0.0  # after a return on the clock: the regime it accepted
        lo, hi, k, alpha = _MEMORY_WINDOWS
        self._memory = VolatilityMemory(log_spaced(lo, hi, k), power_weights(k, alpha, 1.0))
        self._memory_time = world.now
        self.quote_share = 1.0  # share of quote_size its new quotes carry (size_multiplier)

    # ------------------------------------------------------------------ observations
    @property
    def inventory(self) -> int:
        """Shares held beyond the endowment (+ long)."""
        return self.world.ledger.shares.item(self.unique_id) - self.initial_shares

    def value(self, mid: float | None = None) -> float:
        """Mark-to-market value in currency at ``mid`` (default: the market's mid)."""
        led = self.world.ledger
        acc = self.unique_id
        px = self.world.state.mid if mid is None else mid
        return led.cash.item(acc) / 100.0 + led.shares.item(acc) * px

    @property
    def initial_value(self) -> float:
        """Endowment valued at the first price (currency)."""
        return self.initial_cash + self.initial_shares * self.world.initial_price

    @property
    def pnl(self) -> float:
        """Mark-to-market P&L since the start (currency)."""
        return self.value() - self.initial_value

    @property
    def live_orders(self) -> list[int]:
        """Ids of this provider's quotes resting in the book."""
        return [q[0] for q in self._quotes.values()]

    # ------------------------------------------------------------------ decisions
    def quote_prices(self, mid_ticks: float, inventory: int, vol: float) -> tuple[float, float]:
        """Unrounded (bid, ask) of the innermost level in ticks (the formula of the module doc)."""
        cfg = self.cfg
        half = cfg.half_spread_ticks * (
            1.0
            + cfg.vol_widening * max(0.0, vol / cfg.reference_vol - 1.0)
            + cfg.inventory_widening * abs(inventory) / cfg.inventory_limit
        )
        centre = mid_ticks - cfg.skew_per_share * inventory
        return centre - half, centre + half

    def quote_ticks(
        self,
        mid_ticks: float,
        inventory: int,
        vol: float,
        best_bid: int | None,
        best_ask: int | None,
    ) -> tuple[int, int]:
        """Innermost (bid, ask) in whole ticks, given the book's best prices before requoting.

        Applies the no-improvement rule of the skew (module docstring); ``best_bid`` /
        ``best_ask`` may be ``None`` for an empty side.
        """
        cfg = self.cfg
        bid_f, ask_f = self.quote_prices(mid_ticks, inventory, vol)
        bid = math.floor(bid_f)
        ask = math.ceil(ask_f)
        if inventory:
            # the same quotes without the centre shift: the reducing side goes no further
            shift = cfg.skew_per_share * inventory
            if inventory > 0:
                flat_ask = math.ceil(ask_f + shift)
                ask = max(ask, flat_ask if best_ask is None else min(flat_ask, best_ask))
            else:
                flat_bid = math.floor(bid_f + shift)
                bid = min(bid, flat_bid if best_bid is None else max(flat_bid, best_bid))
        if ask <= bid:
            ask = bid + 1
        return bid, ask

    def _ladder(self, bid: int, ask: int, sides: tuple[int, ...]) -> list[int]:
        """Signed price keys (side * ticks) of the wanted quotes, innermost first."""
        step = self.cfg.level_spacing_ticks
        levels = self.cfg.quote_levels
        want: list[int] = []
        for side in sides:
            px = bid if side > 0 else ask
            for _ in range(levels):
                if px < 1:
                    break
                want.append(side * px)
                px -= step * side
        return want

    def _cancel_unwanted(self, want: list[int]) -> None:
        quotes = self._quotes
        cancel = self.world.venue.cancel
        for key in [k for k in quotes if k not in want]:
            oid = quotes.pop(key)[0]
            del self._key_of[oid]
            cancel(oid)

    def _cancel_all(self) -> None:
        cancel = self.world.venue.cancel
        for oid, _left in self._quotes.values():
            cancel(oid)
        self._quotes.clear()
        self._key_of.clear()
        self._last_quote = None

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

    def on_reopen(self, now: float) -> None:
        """The halted book has just reopened: a provider out for volatility comes back (the pause
        has let the price settle) and accepts the volatility it returns into."""
        t = self.cfg.reopen_vol_tolerance
        if not self.quoting and self.withdrawal_reason is WithdrawalReason.volatility and t > 0:
            self._tolerated_vol = max(self._tolerated_vol, self.world.state.vol * (1.0 + t))
            self._return(now)
            self.n_reopen_returns += 1

    def act(self) -> None:
        """Return after a withdrawal if calm enough, check the stops, then re-quote the ladder."""
        m = self.world
        now, vol = m.now, m.state.vol
        if not self.quoting and not self._ready_to_return(now, vol):
            return
        if m.book_view.halted:
            # a halted book may be crossed and ends in an auction: quote on the reopened book
            if self._quotes:
                self._cancel_all()
            return
        shares = m.ledger.shares.item(self.unique_id)
        if self.cfg.withdrawal_enabled and self._stopped_out(now, vol, shares):
            return
        inv = self._shed_excess(shares - self.initial_shares)
        if self.cfg.size_vol_exponent > 0.0:
            self._remember(now, vol)
        self._requote(inv, vol)

    def _remember(self, now: float, vol: float) -> None:
        """Feed ``vol`` into the memory and set ``quote_share`` from the remembered volatility.
        Called at its actions while quoting; the time it spent withdrawn is bridged with the
        volatility it comes back to."""
        dt = max(0.0, now - self._memory_time)
        self._memory_time = now
        sigma2 = self._memory.update(vol * vol, dt)
        self.quote_share = size_multiplier(self.cfg, math.sqrt(max(sigma2, 0.0)))

    def _ready_to_return(self, now: float, vol: float) -> bool:
        """While withdrawn: whether to quote again now (after a calm cool-down or the maximum
        withdrawal time); returning resets the state of the withdrawal."""
        cfg = self.cfg
        stopped_today = self._stopped_day == self.world.day
        if self.withdrawal_reason is WithdrawalReason.loss_limit and stopped_today:
            return False
        if now - self.withdrawn_since < cfg.max_withdrawal_seconds:
            if vol >= self.reentry_vol:
                self._calm_since = None
                return False
            if self._calm_since is None:
                self._calm_since = now
            if now - self._calm_since < cfg.cooldown_seconds:
                return False
        elif cfg.return_vol_tolerance > 0.0:
            self._tolerated_vol = vol * (1.0 + cfg.return_vol_tolerance)
        self._return(now)
        return True

    def _stopped_out(self, now: float, vol: float, shares: int) -> bool:
        """Withdraw on volatility or on the daily loss limit; True if it just withdrew."""
        cfg = self.cfg
        if vol > self.withdraw_vol and vol > self._tolerated_vol:
            self._withdraw(WithdrawalReason.volatility, now)
            return True
        if self._day_start_value is None:
            self._day_start_value = self.initial_value
        value = self.world.ledger.cash.item(self.unique_id) / 100.0 + shares * self.world.state.mid
        if value - self._day_start_value <= -cfg.loss_limit:
            self._stopped_day = self.world.day
            self._withdraw(WithdrawalReason.loss_limit, now)
            return True
        return False

    def _shed_excess(self, inv: int) -> int:
        """Hot potato: past the inventory limit, dump the excess at market; the inventory after."""
        cfg = self.cfg
        limit = cfg.inventory_limit
        if (inv > limit or inv < -limit) and cfg.inventory_action is InventoryAction.hot_potato:
            excess = abs(inv) - int(cfg.dump_target * limit)
            if self.world.venue.market(self.unique_id, -1 if inv > 0 else 1, excess) is not None:
                self.n_dumps += 1
                self.dumped_shares += excess
                inv = self.world.ledger.shares.item(self.unique_id) - self.initial_shares
        return inv

    def _requote(self, inv: int, vol: float) -> None:
        """Move the ladder to the quotes for ``inv`` and ``vol`` (only the sides within limits)."""
        m, cfg = self.world, self.cfg
        book = m.book_view
        limit = cfg.inventory_limit
        sides = (-1,) if inv > limit else (1,) if inv < -limit else (1, -1)
        bb, ba = book.best_bid, book.best_ask
        two_sided = bb is not None and ba is not None and ba > bb
        ref = 0.5 * (bb + ba) if two_sided else m.state.mid / m.tick
        bid, ask = self.quote_ticks(ref, inv, vol, bb, ba)
        quotes = self._quotes
        if (bid, ask, sides) == self._last_quote and len(quotes) == self._last_count:
            return  # nothing moved and nothing filled: the quotes in the book are still right
        want = self._ladder(bid, ask, sides)
        self._cancel_unwanted(want)
        # own quotes left in the book are all in ``want``, so the best prices now are others'
        # wherever they would make this provider cross
        bb, ba = book.best_bid, book.best_ask
        crossed = False
        if ba is not None and bid >= ba:
            bid, crossed = ba - 1, True
        if bb is not None and ask <= bb:
            ask, crossed = bb + 1, True
        if crossed:
            want = self._ladder(bid, ask, sides)
            self._cancel_unwanted(want)
        size = max(1, round(cfg.quote_size * self.quote_share))
        acc, key_of, limit_order = self.unique_id, self._key_of, m.venue.limit
        for key in want:
            if key not in quotes:
                oid = limit_order(acc, 1 if key > 0 else -1, key if key > 0 else -key, size)
                quotes[key] = [oid, size]
                key_of[oid] = key
        self._last_quote = (bid, ask, sides)
        self._last_count = len(quotes)

    def on_fill(self, order_id: int, side: int, qty: int, price: int, aggressor: bool) -> None:
        key = self._key_of.get(order_id)
        if key is None:
            return  # a hot-potato market order, not a quote
        quote = self._quotes[key]
        quote[1] -= qty
        if quote[1] <= 0:
            del self._quotes[key]
            del self._key_of[order_id]

    def on_close(self, day: int) -> None:
        self._tolerated_vol = 0.0  # a new day starts from the configured thresholds
        # the loss limit is a daily stop: tomorrow's losses count from tonight's mark
        self._day_start_value = self.value()


class LiquidityPopulation(Population):
    """The liquidity providers; records how many of them quote (``lp_quoting``).

    On the first step after a halted book reopens every provider acts at once, before the clocks
    draw: market makers re-quote on the reopening rather than at their next requote.
    """

    name = "liquidity"
    RECORDED: ClassVar[dict[str, str]] = {"lp_quoting": "quoting"}

    def __init__(
        self,
        cfg: LiquidityConfig,
        stream: np.random.Generator,
        members: list,
    ) -> None:
        super().__init__(cfg, stream, members)
        self._halted = False  # the book as the previous observation found it
        self.n_reopenings = 0

    @classmethod
    def build(
        cls, world: World, cfg: LiquidityConfig, stream: np.random.Generator
    ) -> LiquidityPopulation:
        return cls(cfg, stream, list(populate(world, cfg, stream)))

    def observe(self, world: World) -> None:
        halted = world.book_view.halted
        was_halted, self._halted = self._halted, halted
        if was_halted and not halted:
            self.n_reopenings += 1
            for lp in self.members:
                lp.on_reopen(world.now)
                lp.act()


def populate(
    world: World, cfg: LiquidityConfig, stream: np.random.Generator
) -> list[LiquidityProvider]:
    """Create ``cfg.n`` providers, each with its own threshold factor."""
    if cfg.n == 0:
        return []
    d = cfg.threshold_dispersion
    scales = stream.uniform(1.0 - d, 1.0 + d, cfg.n) if d > 0 else np.ones(cfg.n)
    members = []
    for i in range(cfg.n):
        a = LiquidityProvider(world, stream, cfg.rate, cfg, float(scales[i]))
        a.initial_shares = cfg.initial_shares
        a.initial_cash = cfg.initial_cash
        members.append(a)
    return members
