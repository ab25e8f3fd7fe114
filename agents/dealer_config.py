"""The option dealers' configuration: :class:`DealersConfig` (``agents.dealers.*``).

What each field does, and the units and signs they are stated in, is described in
:mod:`agents.dealers`, which reads them; this module declares their defaults and ranges and
checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from agents.base import as_enum
from agents.dealer_book import InitialBook
from agents.hedge_execution import CrossTarget, HedgeExecution, HedgeOrderType
from agents.hedging_policies import HedgePolicyKind
from market.validation import ConfigError, Validated, param

#: fields given as numbers in a config file but used as counts (stored as int)
_WHOLE_NUMBER_FIELDS = (
    "n",
    "min_trade_shares",
    "ioc_offset_ticks",
    "max_order_size",
    "max_child_orders",
    "passive_inside_ticks",
    "min_half_spread_ticks",
    "initial_book_contracts",
    "initial_book_strikes",
    "initial_book_expiry",
)


@dataclass
class DealersConfig(Validated):
    """Parameters of the option-dealer population (see :mod:`agents.dealers`).

    The hedging fields go to the policy named by ``policy`` (:mod:`agents.hedging_policies`);
    each policy reads only its own.
    """

    config_path: ClassVar[str] = "agents.dealers"

    n: int = param(4, lo=0, hi=1000, unit="agents", doc="number of dealers")
    rate: float = param(
        0.05,
        lo=0.0,
        hi=100.0,
        lo_open=True,
        unit="actions/s",
        doc="looks (Greeks, hedge check) per dealer; `1 / rate` is also the shortest "
        "rebalancing interval a quote assumes",
    )
    hedge: bool = param(
        True,
        choices=(True, False),
        doc="`false`: the control arm that never hedges (same as `policy=none`)",
    )
    policy: HedgePolicyKind = param(
        HedgePolicyKind.whalley_wilmott, choices=HedgePolicyKind, doc="the hedging policy"
    )
    band_shares: float = param(
        2000.0,
        lo=0.0,
        hi=1e9,
        unit="shares",
        doc="`fixed_band` half-width of the no-trade band around delta 0; base of the `gamma_band`",
    )
    interval_seconds: float = param(
        300.0,
        lo=0.0,
        hi=1e7,
        lo_open=True,
        unit="s",
        doc="`time_based`: rebalance at the first look after each multiple of this",
    )
    gamma_multiplier: float = param(
        1.0,
        lo=0.0,
        hi=1e3,
        doc="`gamma_band`: band = base + this * `|gamma| * spot * vol * sqrt(horizon)` shares",
    )
    gamma_horizon_seconds: float = param(
        300.0,
        lo=0.0,
        hi=1e7,
        lo_open=True,
        unit="s",
        doc="`gamma_band`: the horizon of that widening",
    )
    risk_aversion: float = param(
        1e-3,
        lo=0.0,
        hi=1e3,
        lo_open=True,
        unit="per currency",
        doc="`whalley_wilmott`: absolute risk aversion; lower = wider band",
    )
    min_trade_shares: int = param(
        100,
        lo=1,
        hi=1e9,
        unit="shares",
        doc="hedge trades smaller than this are not sent, nor a smaller unfinished remainder",
    )
    order_type: HedgeOrderType = param(
        HedgeOrderType.ioc,
        choices=HedgeOrderType,
        doc="hedge orders as `market` orders or `ioc` limits",
    )
    ioc_offset_ticks: int = param(
        3, lo=0, hi=1e6, unit="ticks", doc="how far through the far touch an IOC hedge is priced"
    )
    max_order_size: int = param(2000, lo=1, hi=1e9, unit="shares", doc="largest hedge child order")
    max_child_orders: int = param(
        3,
        lo=1,
        hi=1000,
        unit="orders",
        doc="hedge child orders per look; the rest is resumed at the next look",
    )
    execution: HedgeExecution = param(
        HedgeExecution.banded,
        choices=HedgeExecution,
        doc="`aggressive`: every hedge crosses the spread; `banded`: rest a passive order "
        "between the policy's band and the outer band, cross beyond it "
        "(agents/hedge_execution.py)",
    )
    outer_band_multiple: float = param(
        2.5,
        lo=1.0,
        hi=100.0,
        unit="multiple",
        doc="outer band = this * the policy's no-trade band (`banded`; also the band counted "
        "in `band_outside_outer`)",
    )
    cross_to: CrossTarget = param(
        CrossTarget.outer,
        choices=CrossTarget,
        doc="`banded`: beyond the outer band, cross only the part beyond the outer band (`outer`, "
        "trade to the band edge), back to the inner band (`inner`) or the whole gap (`neutral`)",
    )
    passive_urgency_floor: float = param(
        0.25,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="`banded`: between the bands a passive order rests for this fraction of the excess "
        "over the inner band at the inner band, rising linearly to all of it at the outer band "
        "(1 = all of it everywhere)",
    )
    passive_resize_tolerance: float = param(
        0.5,
        lo=0.0,
        hi=10.0,
        unit="fraction",
        doc="`banded`: a resting hedge order still at the touch is kept while its remaining size "
        "is within this fraction of the size wanted now (0 = replace on any change)",
    )
    participation_cap: float = param(
        0.15,
        lo=0.0,
        hi=1.0,
        lo_open=True,
        unit="fraction",
        doc="a dealer's crossing hedge fills over the last `participation_window_seconds` are "
        "at most this share of all the volume printed then (its own passive prints are not "
        "counted as the market's), while the dealer is short gamma; the part held back waits "
        "for later looks, or widens the outer band (`participation_relax_seconds`; "
        "agents/hedge_execution.py); 1 = no ceiling",
    )
    participation_window_seconds: float = param(
        60.0,
        lo=0.0,
        hi=23_400.0,
        lo_open=True,
        unit="s",
        doc="the window of `participation_cap`'s volume",
    )
    participation_relax_seconds: float = param(
        0.0,
        lo=0.0,
        hi=23_400.0,
        unit="s",
        doc="half-life over which the outer band widened by `participation_cap` relaxes back; "
        "0 = no widening (the part held back is retried at the next look, at the ceiling's pace)",
    )
    close_window_seconds: float = param(
        1800.0,
        lo=0.0,
        hi=23_400.0,
        unit="s",
        doc="the last seconds of each session in which the inner band is narrowed by "
        "`close_band_factor` (the dealers square up their delta before the night); 0 = never",
    )
    close_band_factor: float = param(
        0.25,
        lo=0.0,
        hi=1.0,
        unit="multiple",
        doc="inner band in the closing window = this * the policy's band (1 = no change)",
    )
    passive_inside_ticks: int = param(
        1,
        lo=0,
        hi=1e6,
        unit="ticks",
        doc="`banded`: a resting hedge order sits this far inside the near touch (0 = join it), "
        "never crossing the spread",
    )
    cost_spread_multiple: float = param(
        1.0, lo=0.0, hi=100.0, doc="round-trip cost estimate `k` = this * book spread / mid"
    )
    min_round_trip_cost: float = param(
        0.0001,
        lo=0.0,
        hi=0.5,
        unit="fraction of price",
        doc="floor on `k` (0.0001 = 1 bp round trip)",
    )
    option_tick: float = param(
        0.01, lo=0.0, hi=100.0, lo_open=True, unit="currency", doc="option price grid"
    )
    min_half_spread_ticks: int = param(
        1,
        lo=1,
        hi=1e4,
        unit="option ticks",
        doc="a quote sits at least this far from the surface mid",
    )
    inventory_vol: float = param(
        0.02,
        lo=0.0,
        hi=1.0,
        unit="volatility",
        doc="quote vol shift at the full vega limit: `-this * net_vega / vega_limit`",
    )
    gamma_limit: float = param(
        1_000_000.0,
        lo=0.0,
        lo_open=True,
        unit="shares per currency unit of spot",
        doc="a trade taking `|net_gamma|` beyond this is refused (reducing trades never are)",
    )
    vega_limit: float = param(
        100_000_000.0,
        lo=0.0,
        lo_open=True,
        unit="currency per 1.00 of vol",
        doc="the same for `|net_vega|`; also scales the inventory shift",
    )
    mark_interval_seconds: float = param(
        60.0,
        lo=0.0,
        hi=1e7,
        unit="s",
        doc="a look refreshes the P&L split at most this often (and every close does)",
    )
    initial_cash: float = param(
        50_000_000.0,
        lo=0.0,
        hi=1e15,
        unit="currency",
        doc="cash per dealer; dealers start with no shares",
    )
    initial_book: InitialBook = param(
        InitialBook.long_gamma,
        choices=InitialBook,
        doc="opening book: `flat`, `short_gamma` (customers buy) or `long_gamma` (customers sell); "
        "the default long-gamma book is the open interest that puts the dealers' |GEX| per 1% "
        "move at about 1-2% of a day's traded value, with dealers net long gamma as they "
        "usually are in index options (docs/gamma.md)",
    )
    initial_book_contracts: int = param(
        3000, lo=1, hi=1e7, unit="contracts", doc="opening trade per call and per put"
    )
    initial_book_strikes: int = param(
        2,
        lo=0,
        hi=100,
        unit="strikes",
        doc="`k`: the opening book covers the `2k + 1` strikes nearest the initial price",
    )
    initial_book_expiry: int = param(
        2,
        lo=0,
        hi=250,
        unit="index",
        doc="listed expiry of the opening book, 0 = nearest (the default, 2, is the day-19 "
        "expiry of the default chain, so the book lasts through a 20-day run)",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        # the dealers compare against members, while a config file gives the values
        p = self.config_path
        self.policy = as_enum(f"{p}.policy", self.policy, HedgePolicyKind)
        self.order_type = as_enum(f"{p}.order_type", self.order_type, HedgeOrderType)
        self.execution = as_enum(f"{p}.execution", self.execution, HedgeExecution)
        self.cross_to = as_enum(f"{p}.cross_to", self.cross_to, CrossTarget)
        self.initial_book = as_enum(f"{p}.initial_book", self.initial_book, InitialBook)

    def check(self) -> None:
        for name in _WHOLE_NUMBER_FIELDS:
            value = getattr(self, name)
            if value != int(value):
                raise ConfigError(
                    f"{self.config_path}.{name} must be a whole number, got {value!r}"
                )
            # a count used in range() or as a share quantity must be an int
            setattr(self, name, int(value))
