"""The latent liquidity's config: one field per knob of :mod:`agents.latent_liquidity`, whose
module docstring gives the symbols, the mechanisms and the units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from market.validation import ConfigError, Validated, param


@dataclass
class LatentConfig(Validated):
    """Parameters of the latent liquidity (units and symbols in the module docstring)."""

    config_path: ClassVar[str] = "agents.latent"

    enabled: bool = param(True, choices=(True, False), doc="latent liquidity on or off")
    deposit_rate: float = param(
        0.2,
        lo=0.0,
        hi=1e4,
        lo_open=True,
        unit="orders/s",
        doc="`lambda`: latent orders deposited per second, half buyers and half sellers",
    )
    deposit_width: float = param(
        0.01,
        lo=0.0,
        hi=1.0,
        lo_open=True,
        unit="log price",
        doc="`W`: buyers are deposited uniformly up to this far below the anchor, sellers above",
    )
    forget_rate: float = param(
        1.0 / 28_800.0,
        lo=1e-7,
        hi=1.0,
        unit="1/s",
        doc="`nu`: rate at which a latent order is forgotten (1/28800: an 8-hour memory)",
    )
    diffusion: float = param(
        2e-9,
        lo=0.0,
        hi=1e-3,
        unit="log price^2/s",
        doc="`D`: diffusion of each reservation price, `dx = sqrt(2 D) dW`",
    )
    # 0 by default: the latent investors do not see F's news; they read it, with everything
    # else, from the flow (metaorder_impact)
    value_tracking: float = param(
        0.0,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of each log move of the fundamental, other than its public jumps, that "
        "shifts every reservation price",
    )
    # public news (a news event, the night's news) is heard by everyone at once: the latent
    # investors reprice on it as market makers do, so a 15% announcement does not take hours of
    # informed selling to reach the price (docs/facts.md, "The default market now")
    news_tracking: float = param(
        1.0,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of each public jump of the fundamental (the night's news, a news event) that "
        "shifts every reservation price at once",
    )
    learning: float = param(
        0.0,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of a lasting gap between the price and the fundamental that the latent "
        "investors read as value they lack and move every reservation price by; 0 = none",
    )
    flow_impact: float = param(
        0.0,
        lo=0.0,
        hi=1e4,
        unit="bp per million shares",
        doc="permanent impact of the net flow the latent investors absorb: every reservation "
        "price moves against their net purchases by this much per million shares (Kyle's "
        "lambda); 0 = none. A default day trades about 12 million shares",
    )
    flow_impact_half_life: float = param(
        0.0,
        lo=0.0,
        hi=1e9,
        unit="s",
        doc="half-life over which the level the flow's impact holds the latent investors' value "
        "at fades back to value (23400 s = one trading day); 0 = never (fully permanent)",
    )
    flow_impact_decay_exponent: float = param(
        0.0,
        lo=0.0,
        hi=2.0,
        doc="`beta`: with it > 0 the flow's impact fades as a power law, tau ** -beta from "
        "`flow_impact_half_life` (then required) to 20 trading days, instead of exponentially; "
        "0 = exponential fade (or none)",
    )
    flow_expectation_half_life: float = param(
        0.0,
        lo=0.0,
        hi=1e8,
        unit="s",
        doc="half-life of the latent investors' running estimate of the flow's rate: only the "
        "flow beyond what that rate predicts moves value (a persistent flow is read as one "
        "trader splitting an order, not as news each time); 0 = every share is news",
    )
    metaorder_impact: float = param(
        20.0,
        lo=0.0,
        hi=1000.0,
        unit="bp at 1% of daily volume",
        doc="the latent investors revise value by each other account's run of same-side "
        "aggressive trading (an episode, read as a metaorder): by this much at the peak of an "
        "episode of 1% of the daily volume, growing as the square root of its shares "
        "(agents/metaorder_impact.py); 0 = none. The square-root law's Y * sigma_daily * 0.1: "
        "about 10 bp for Y = 1 and a 1% daily volatility",
        plausible=(0.0, 30.0),
    )
    # the whole peak by default: the market's other mechanisms already give back about a third
    # within the hour (docs/facts.md); dropping a third here as well made prices revert
    metaorder_permanent: float = param(
        1.0,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of an episode's peak that stays in value when it ends (Farmer, Gerig, Lillo "
        "& Waelbroeck 2013: two thirds); the rest is dropped",
    )
    metaorder_gap: float = param(
        1800.0,
        lo=1.0,
        hi=1e8,
        unit="s",
        doc="an episode ends when its account takes liquidity on the other side or has taken "
        "none on its side for this long",
    )
    # 1 by default: on the calibration seeds a discount did not remove the short-gamma runaway
    # (docs/gamma.md, "What the runaway is made of"), so nothing argues for moving the default
    metaorder_dealer_weight: float = param(
        1.0,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="the registered option market makers' episodes (their delta hedges) move value by "
        "this share of anyone else's: hedging flow is predictable from the public open interest "
        "and the price, so it is read as mostly uninformed (agents/metaorder_impact.py); 1 = "
        "read like anyone's, 0 = not at all",
    )
    learning_horizon: float = param(
        1800.0,
        lo=1.0,
        hi=1e8,
        unit="s",
        doc="half-life of the average of log(mid / F) that the latent investors learn from",
    )
    sentiment_sd: float = param(
        0.0,
        lo=0.0,
        hi=1.0,
        unit="log price",
        doc="stationary s.d. of a scripted common sentiment of the latent investors (noise "
        "traders' mood), which shifts every reservation price; 0 = none",
    )
    sentiment_half_life: float = param(
        117_000.0,
        lo=1.0,
        hi=1e9,
        unit="s",
        doc="half-life of that sentiment (117000 s = 5 trading days)",
    )
    anchor_half_life: float = param(
        3600.0,
        lo=0.0,
        hi=1e8,
        unit="s",
        doc="half-life of the average log mid that deposits centre on; 0 = the mid itself",
    )
    order_lots: int = param(20, lo=1, hi=1_000_000, unit="lots", doc="size of one latent order")
    lot_size: int = param(100, lo=1, hi=1_000_000, unit="shares", doc="shares per lot")
    reveal_time: float = param(
        0.0,
        lo=0.0,
        hi=3600.0,
        unit="s",
        doc="mean time before a latent order the price has reached becomes a real order (the "
        "investors' reaction); 0 = at once. Plausible: seconds to minutes (institutional "
        "investors react within minutes: the 6 May 2010 buyers came back within about 5)",
        plausible=(0.0, 600.0),
    )
    max_sweep: float = param(
        0.003,
        lo=0.0,
        hi=1.0,
        unit="log price",
        doc="a revealed order is priced at most this far through the touch (its reservation "
        "price if nearer): a jump of value reaches the price over seconds, not in one sweep",
    )
    visible_lifetime: float = param(
        120.0,
        lo=0.0,
        hi=1e6,
        lo_open=True,
        unit="s",
        doc="a revealed order's unfilled rest is cancelled after this long",
    )
    update_interval: float = param(
        10.0,
        lo=0.01,
        hi=3600.0,
        unit="s",
        doc="mean time between full passes over the latent book (deposits, diffusion, forgetting)",
    )
    rate: float = param(
        1.0,
        lo=0.0,
        hi=100.0,
        lo_open=True,
        unit="actions/s",
        doc="how often the population compares the touch with its latent prices",
    )
    storm_exponent: float = param(
        1.0,
        lo=0.0,
        hi=10.0,
        doc="`eta`: above `storm_reference_vol` deposits scale as `(storm_reference_vol / "
        "sigma_mem) ** eta` down to `storm_floor` (thinning in storms); 0 = no thinning",
    )
    storm_calm_exponent: float = param(
        1.0,
        lo=0.0,
        hi=10.0,
        doc="`eta_calm`: the same power below `storm_reference_vol`, up to `storm_cap` "
        "(thickening in calm); 0 = no thickening",
    )
    storm_reference_vol: float = param(
        0.18,
        lo=0.0,
        hi=10.0,
        lo_open=True,
        unit="annualised",
        doc="`sigma_ref`: remembered volatility at which deposits run at `deposit_rate`",
    )
    storm_floor: float = param(
        0.5,
        lo=0.0,
        hi=1.0,
        lo_open=True,
        unit="multiple",
        doc="least deposit multiplier: how far a storm thins the inflow of latent orders (the "
        "memory is fed volatility no higher than where it binds)",
    )
    storm_cap: float = param(
        2.0,
        lo=1.0,
        hi=100.0,
        unit="multiple",
        doc="largest deposit multiplier: how far a calm market thickens it",
    )
    storm_memory_windows: int = param(
        6, lo=1, hi=32, unit="windows", doc="number of log-spaced windows of `sigma_mem`"
    )
    storm_memory_min: float = param(
        1800.0, lo=1.0, hi=1e8, unit="s", doc="half-life of the shortest window of `sigma_mem`"
    )
    storm_memory_max: float = param(
        468_000.0,
        lo="storm_memory_min",
        hi=1e8,
        unit="s",
        doc="half-life of the longest window of `sigma_mem` (468000 s = 20 trading days)",
    )
    storm_memory_alpha: float = param(
        1.0,
        lo=0.0,
        hi=5.0,
        doc="power of the windows' weights, `w_k ~ k ** -alpha` (k = 1 the shortest); 0 = equal",
    )
    initial_shares: int = param(0, lo=-1e12, hi=1e12, unit="shares", doc="endowment")
    initial_cash: float = param(1e9, lo=-1e15, hi=1e15, unit="currency", doc="endowment")

    def check(self) -> None:
        if self.flow_impact_decay_exponent > 0.0 and self.flow_impact_half_life <= 0.0:
            raise ConfigError(
                "agents.latent.flow_impact_half_life must be > 0 when "
                f"flow_impact_decay_exponent > 0 (got {self.flow_impact_half_life}): it is "
                "where the power law starts"
            )
