"""The options market's config (``market.options``): how options trade, and in book mode how the
dealers quote, how the exchange curtails them and how customers reach the books.

``venue: rfq`` (the default) is the request-for-quote path: a customer asks every dealer and
trades at the best price. ``venue: book`` lists every series on an order book
(:mod:`market.exchange.option_venue`), where the dealers keep two-sided quotes
(:mod:`agents.dealer_quoting`) and customers send orders (:mod:`experiments.option_market`);
``stale_takers`` adds fast traders that take quotes left stale by the underlying
(:mod:`agents.stale_quote_taker`).
The other fields matter in book mode only. Prices in option ticks (``agents.dealers.option_tick``
currency each), sizes in contracts, times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from agents.package_quoting import PackageQuotingParams
from agents.stale_quote_taker import StaleTakerParams
from market.validation import ConfigError, Validated, param, param_from


class OptionVenueKind(StrEnum):
    """How options trade."""

    rfq = "rfq"
    book = "book"


@dataclass
class OptionsMarketConfig(Validated):
    """Options market structure (book mode: docs/options_market.md)."""

    config_path: ClassVar[str] = "market.options"

    venue: str = param(
        "rfq",
        choices=OptionVenueKind,
        doc="`rfq`: customers trade at the best dealer quote on request; `book`: one order "
        "book per series, dealers quote on it, customers send orders",
    )
    max_cross_ticks: int = param(
        50,
        lo=0,
        hi=10_000,
        unit="option ticks",
        doc="price protection: an order priced further than this beyond the opposite best is "
        "refused",
    )
    dealers_per_series: int = param(
        2, lo=1, hi=1000, unit="dealers", doc="dealers quoting each series (drawn per seed)"
    )
    quote_size: int = param(
        10, lo=1, hi=100_000, unit="contracts", doc="size of each side of a dealer's quote"
    )
    requote_ticks: float = param(
        1.0,
        lo=0.0,
        hi=1000.0,
        unit="option ticks",
        doc="a quote is re-sent when the series' theoretical value moved by at least this "
        "since it was sent (or a side filled, or the dealer's risk state changed)",
    )
    stress_vol_weight: float = param(
        1.0,
        lo=0.0,
        hi=100.0,
        doc="half-spreads times `1 + this * max(realised vol / ATM vol - 1, 0)`",
    )
    stress_spread_weight: float = param(
        0.25,
        lo=0.0,
        hi=100.0,
        doc="half-spreads times `1 + this * max(underlying spread - 1 tick, 0)` (ticks)",
    )
    stress_max: float = param(
        4.0, lo=1.0, hi=1000.0, doc="the stress multiplier of half-spreads is capped here"
    )
    hedge_cost_weight: float = param(
        1.0,
        lo=0.0,
        hi=100.0,
        doc="half-spreads add `this * |delta| * underlying spread / 2`: the cost of hedging "
        "one fill's delta at the underlying's touch (wide dollar spreads in the money)",
    )
    vega_charge_weight: float = param(
        1.0,
        lo=0.0,
        hi=100.0,
        doc="half-spreads add `this * vega * vol_of_vol * sqrt(vega_holding_seconds)`: the "
        "risk of holding one fill's vega until it is laid off",
    )
    vol_of_vol: float = param(
        0.15,
        lo=0.0,
        hi=10.0,
        unit="vol / sqrt(year)",
        doc="standard deviation of the implied vol's change over a trading year (absolute, "
        "0.15 = 15 vol points), for the vega charge",
    )
    vega_holding_seconds: float = param(
        3600.0,
        lo=0.0,
        hi=10_000_000.0,
        unit="s",
        doc="how long a dealer expects to hold a fill's vega, for the vega charge",
    )
    fill_widen_ticks: int = param(
        2,
        lo=0,
        hi=10_000,
        unit="option ticks",
        doc="the side of a quote just filled is priced this much further from the theoretical "
        "value for `fill_widen_seconds`",
    )
    fill_widen_seconds: float = param(
        30.0, lo=0.0, hi=86_400.0, unit="s", doc="how long a filled side stays widened"
    )
    inventory_buckets: int = param(
        10,
        lo=1,
        hi=1000,
        doc="the dealer's vega inventory is read in this many steps of its limit; a change of "
        "step (or of which sides its gamma and vega limits allow) re-sends all its quotes",
    )
    risk_window_seconds: float = param(
        10.0,
        lo=0.0,
        hi=3600.0,
        lo_open=True,
        unit="s",
        doc="rolling window of the exchange's quote risk monitor",
    )
    risk_max_contracts: float = param(
        200.0,
        lo=0.0,
        lo_open=True,
        unit="contracts",
        doc="a dealer whose quotes executed more than this in the window is curtailed",
    )
    risk_max_delta: float = param(
        20_000.0,
        lo=0.0,
        lo_open=True,
        unit="shares",
        doc="the same for the summed |delta| of its executions",
    )
    risk_max_vega: float = param(
        2_000_000.0,
        lo=0.0,
        lo_open=True,
        unit="currency per 1.00 of vol",
        doc="the same for the summed |vega| of its executions",
    )
    risk_cooldown_seconds: float = param(
        30.0,
        lo=0.0,
        hi=3600.0,
        unit="s",
        doc="a curtailed dealer's quotes are pulled and it may not quote for this long",
    )
    dealers_take_stale: bool = param(
        True,
        doc="dealers take resting orders of others (customers, the desk) left through their "
        "own quote by the underlying or the surface (the adverse selection of passive "
        "orders); dealers' quotes are never taken this way",
    )
    dealer_take_edge_ticks: int = param(
        2,
        lo=0,
        hi=10_000,
        unit="option ticks",
        doc="a dealer takes a resting bid at least this far above its own ask (an ask at "
        "least this far below its own bid)",
    )
    customer_cross_ticks: int = param(
        3,
        lo=0,
        hi=10_000,
        unit="option ticks",
        doc="a customer's immediate-or-cancel order is priced this far beyond the opposite "
        "best (within `max_cross_ticks`)",
    )
    rest_share: float = param(
        0.1,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of customer orders resting as limit orders at their own side's best "
        "instead of crossing",
    )
    rest_lifetime_seconds: float = param(
        300.0,
        lo=0.0,
        hi=86_400.0,
        lo_open=True,
        unit="s",
        doc="a resting customer order is cancelled after this long",
    )

    spread_share: float = param(
        0.0,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of customers' new option trades sent as two-leg packages to the complex "
        "order book (0: none, the market as without them); complex orders are 'over 30 "
        "percent' of US option volume (Li, Musto & Pearson, 'A Simple Role for Complex "
        "Options', 2023)",
        plausible=(0.0, 0.4),
    )
    spread_straddle_share: float = param(
        0.1,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of those packages that are straddles (call and put of one strike) rather "
        "than verticals (one strike and the next out); straddles and strangles are 'a small "
        "fraction' of complex volume (Li, Musto & Pearson 2023)",
    )
    spread_calendar_share: float = param(
        0.15,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of the packages that are calendars (one strike, the next later expiry: the "
        "shape of a roll); calendars and diagonals are among the main complex types (Li, "
        "Musto & Pearson 2023), the share a modelling choice",
    )
    spread_diagonal_share: float = param(
        0.05,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of the packages that are diagonals (the next strike out at the next later "
        "expiry); the rest after straddles, calendars and diagonals are verticals",
    )
    # declared once with the dealers' package pricing (agents/package_quoting.py)
    package_max_packages: int = param_from(PackageQuotingParams, "max_packages")
    package_vol_points: float = param_from(PackageQuotingParams, "vol_points")
    package_gamma_move: float = param_from(PackageQuotingParams, "gamma_move")

    # declared once with the takers' parameters (agents/stale_quote_taker.py)
    stale_takers: int = param_from(StaleTakerParams, "n")
    stale_taker_rate: float = param_from(StaleTakerParams, "rate")
    stale_edge_ticks: float = param_from(StaleTakerParams, "edge_ticks")
    stale_max_contracts: int = param_from(StaleTakerParams, "max_contracts")
    stale_max_orders_per_look: int = param_from(StaleTakerParams, "max_orders_per_look")
    stale_max_position_contracts: int = param_from(StaleTakerParams, "max_position_contracts")

    def stale_taker_params(self) -> StaleTakerParams:
        """The stale-quote takers' parameters (:mod:`agents.stale_quote_taker`)."""
        return StaleTakerParams(
            n=self.stale_takers,
            rate=self.stale_taker_rate,
            edge_ticks=self.stale_edge_ticks,
            max_contracts=self.stale_max_contracts,
            max_orders_per_look=self.stale_max_orders_per_look,
            max_position_contracts=self.stale_max_position_contracts,
        )

    def check(self) -> None:
        kinds = self.spread_straddle_share + self.spread_calendar_share + self.spread_diagonal_share
        if kinds > 1.0 + 1e-12:
            raise ConfigError(
                "market.options.spread_straddle_share + spread_calendar_share + "
                f"spread_diagonal_share must be <= 1 (the rest are verticals), got {kinds:g}"
            )
        if self.customer_cross_ticks > self.max_cross_ticks:
            raise ConfigError(
                f"market.options.customer_cross_ticks must be <= max_cross_ticks "
                f"({self.max_cross_ticks}), got {self.customer_cross_ticks}"
            )

    @property
    def book(self) -> bool:
        """Whether options trade on order books."""
        return self.venue == OptionVenueKind.book.value
