"""Parameters of the background population (:mod:`agents.background` explains the model and units).

Every field's range is declared here, once, and checked and documented from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from market.validation import ConfigError, Validated, param


@dataclass
class BackgroundConfig(Validated):
    """Parameters of the background population (units in the module docstring).

    Weights are drawn per agent as ``|Laplace(0, scale)|`` (the chartist weight then negated for
    a ``contrarian_share`` of the agents); a scale of 0 switches that component off. Horizons are
    uniform in ``[horizon_min, horizon_max]``.
    """

    config_path: ClassVar[str] = "agents.background"

    n: int = param(905, lo=0, hi=1_000_000, unit="agents", doc="number of traders")
    rate: float = param(
        0.003,
        lo=0.0,
        hi=100.0,
        unit="actions/s",
        doc="base rate per trader, before the activity multiplier `m`",
    )
    # half weights since the latent investors read value from the flow (docs/facts.md): the
    # fundamentalists at full weight pinned the price to F, the chartists' contrarian half at
    # 0.3 pulled the flow's moves back within minutes
    fundamentalist_scale: float = param(
        0.5, lo=0.0, hi=1e6, doc="scale of the fundamentalist weight; 0 switches it off"
    )
    chartist_scale: float = param(
        0.15, lo=0.0, hi=1e6, doc="scale of the chartist weight; 0 switches it off"
    )
    noise_scale: float = param(
        1.0,
        lo=0.0,
        hi=1e6,
        doc="scale of the noise weight; 0 switches it off (the three scales not all 0)",
    )
    contrarian_share: float = param(
        0.5,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of traders whose chartist weight is negated",
    )
    horizon_min: float = param(
        30.0,
        lo=0.0,
        hi=86_400.0,
        lo_open=True,
        unit="s",
        doc="lower end of the uniform draw of the horizon `tau_i`",
    )
    horizon_max: float = param(
        900.0, lo="horizon_min", hi=86_400.0, unit="s", doc="upper end of that draw"
    )
    fundamental_horizon: float = param(
        1800.0,
        lo=0.0,
        hi=1e7,
        lo_open=True,
        unit="s",
        doc="`tau_F`: a trader expects `min(1, tau_i / tau_F)` of the gap to value to close",
    )
    fundamental_noise: float = param(
        0.0,
        lo=0.0,
        hi=1.0,
        unit="log return",
        doc="s.d. of the error with which an action sees the fundamental",
    )
    noise_sd: float = param(
        0.0015,
        lo=0.0,
        hi=1.0,
        unit="log return",
        doc="s.d. of the noise term of the expected return",
    )
    max_expected_return: float = param(
        0.003, lo=0.0, hi=1.0, lo_open=True, unit="log return", doc="clip on the expected return"
    )
    market_order_fraction: float = param(
        0.3,
        lo=0.0,
        hi=1.0,
        unit="probability",
        doc="share of actions that are market orders at base activity",
    )
    marketable_fraction: float = param(
        0.1,
        lo=0.0,
        hi=1.0,
        unit="probability",
        doc="share of limit orders priced marketable (opposite best or `p_hat`) at base activity",
    )
    limit_offset: float = param(
        0.0015,
        lo=0.0,
        hi=0.5,
        unit="fraction of price",
        doc="mean shading of a passive limit away from `p_hat`",
    )
    offset_shape: int = param(
        2,
        lo=1,
        hi=20,
        unit="stages",
        doc="Erlang shape of the shading; 1 = exponential, depth peaking at the touch",
    )
    order_lifetime: float = param(
        300.0,
        lo=0.0,
        hi=1e6,
        lo_open=True,
        unit="s",
        doc="mean of the exponential lifetime after which a resting order is cancelled",
    )
    lot_size: int = param(100, lo=1, hi=1_000_000, unit="shares", doc="shares per lot")
    size_tail_exponent: float = param(
        1.3, lo=0.0, hi=100.0, lo_open=True, doc="`P(lots >= k) = k ** -exponent`"
    )
    max_lots: int = param(300, lo=1, hi=1_000_000, unit="lots", doc="cap on an order's size")
    activity_feedback: float = param(
        0.5, lo=0.0, hi=10.0, doc="exponent of `sigma / reference` in `m`; 0 = constant rate"
    )
    activity_reference_vol: float = param(
        0.3,
        lo=0.0,
        hi=10.0,
        lo_open=True,
        unit="annualised",
        doc="volatility the crowd finds normal: `m = 1` when `sigma` equals it",
    )
    activity_max_multiplier: float = param(
        2.0, lo=1.0, hi=1000.0, unit="multiple", doc="cap on `m` (guards against a run-away)"
    )
    activity_min_multiplier: float = param(
        0.5,
        lo=0.1,
        hi=1.0,
        unit="multiple",
        doc="floor on `m`: how far a calm market thins the crowd; 1 = never below base",
    )
    memory_weight: float = param(
        0.8,
        lo=0.0,
        hi=1.0,
        hi_open=True,
        unit="fraction",
        doc="`sum w_k`: weight of the slow realised variances in `sigma**2` (the rest is the "
        "market's 5-minute EWMA); 0 = no memory",
    )
    memory_windows: int = param(
        6, lo=1, hi=32, unit="windows", doc="number `K` of log-spaced memory windows"
    )
    memory_min: float = param(
        1800.0,
        lo=1.0,
        hi=1e8,
        unit="s",
        doc="half-life of the shortest memory window (trading seconds)",
    )
    memory_max: float = param(
        468_000.0,
        lo="memory_min",
        hi=1e8,
        unit="s",
        doc="half-life of the longest memory window (468000 s = 20 trading days)",
    )
    memory_alpha: float = param(
        1.0,
        lo=0.0,
        hi=5.0,
        doc="power of the weights, `w_k ~ k ** -alpha` (k = 1 the shortest window); 0 = equal",
    )
    herding_persistence: float = param(
        46_800.0,
        lo=0.0,
        hi=1e9,
        lo_open=True,
        unit="s",
        doc="correlation time of the speculators' share `x` at the base rate (46800 s = 2 days)",
    )
    herding_recruitment: float = param(
        1.0,
        lo=0.0,
        hi=1.0,
        unit="probability",
        doc="chance that an action copies the state of a trader met at random; 0 = no herding "
        "(the share stays near one half)",
    )
    speculator_activity: float = param(
        1.0,
        lo=0.0,
        hi=20.0,
        unit="multiple",
        doc="`g`: a speculator acts `1 + g` times as often as an investor, its extra actions "
        "aggressive",
    )
    speculator_chartist: float = param(
        1.0,
        lo=0.0,
        hi=10.0,
        unit="multiple",
        doc="factor on a speculator's chartist weight (1 = the same as an investor's)",
    )
    mood_share: float = param(
        0.0,
        lo=0.0,
        hi=1.0,
        unit="probability",
        doc="chance that a speculator's action takes the side of its mood (buy if optimist); "
        "0 = no moods (Lux & Marchesi's opinion dynamics off)",
    )
    mood_imitation: float = param(
        0.9,
        lo=0.0,
        hi=10.0,
        doc="`a1`: weight of the crowd's mood index `x` in the switching bias `U`; near 1 the "
        "herd's swings grow large and slow",
    )
    mood_trend: float = param(
        0.05,
        lo=0.0,
        hi=10.0,
        doc="`a2`: weight of the recent trend (in standard deviations) in `U`",
    )
    mood_value: float = param(
        0.3,
        lo=0.0,
        hi=10.0,
        doc="`a3`: weight of how far the price is from F (in daily standard deviations) in `U`, "
        "against the gap",
    )
    mood_anchor_learning: float = param(
        0.0,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of the crowd's learnt value gap in the value the herd compares the price "
        "with: 0 = F, 1 = `F * exp(value_learning * g)`",
    )
    mood_trend_horizon: float = param(
        1800.0,
        lo=1.0,
        hi=1e6,
        unit="s",
        doc="window of the trend the moods follow",
    )
    mood_persistence: float = param(
        360.0,
        lo=1.0,
        hi=1e9,
        unit="s",
        doc="mean time between a trader's mood reconsiderations at the base rate (`U = 0`)",
    )
    slow_share: float = param(
        0.0,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="share of traders who are slow noise traders, each working uninformed metaorders of "
        "power-law size (agents/noise_metaorders.py); 0 = none",
    )
    metaorder_tail: float = param(
        1.5,
        lo=0.0,
        hi=10.0,
        lo_open=True,
        doc="`alpha`: P(children >= k) = (m / k) ** alpha for a slow noise trader's "
        "metaorder; the order signs' correlation then decays as lag ** -(alpha - 1)",
    )
    metaorder_activity: float = param(
        1.0,
        lo=0.0,
        hi=10_000.0,
        lo_open=True,
        unit="multiple",
        doc="a slow noise trader's base rate over the crowd's `rate`: how fast it works its "
        "metaorders",
    )
    metaorder_min_children: int = param(
        1,
        lo=1,
        hi=1_000_000,
        unit="orders",
        doc="`m`: the smallest metaorder; P(children >= k) = (m / k) ** alpha for k >= m",
    )
    metaorder_max_children: int = param(
        400,
        lo="metaorder_min_children",
        hi=1_000_000,
        unit="orders",
        doc="cap on the child orders of one metaorder",
    )
    metaorder_urgency: float = param(
        0.0,
        lo=0.0,
        hi=1.0,
        unit="probability",
        doc="chance that a child order the usual mix would rest or price goes as a market order "
        "instead (0 = the crowd's usual mix)",
    )
    aggression_feedback: float = param(
        0.5,
        lo=0.0,
        hi=1.0,
        doc="resting orders arrive at `m ** (1 - x)` times base: 0 keeps the mix, 1 makes every "
        "extra action aggressive",
    )
    value_learning: float = param(
        0.99,
        lo=0.0,
        hi=1.0,
        hi_open=True,
        doc="weight of the remembered price/value gap `g` in the fundamentalists' anchor; 0 = off",
    )
    value_learning_horizon: float = param(
        30.0, lo=0.0, hi=1e8, lo_open=True, unit="s", doc="half-life of `g`"
    )
    value_learning_vol_exponent: float = param(
        0.0,
        lo=0.0,
        hi=10.0,
        doc="`k`: `g`'s half-life is `value_learning_horizon * max(1, sigma / "
        "activity_reference_vol) ** k`, so a crowd learns value from a price swinging beyond "
        "its usual volatility more slowly (its weight on a noisier signal falls); 0 = a fixed "
        "half-life",
    )
    value_learning_gamma_discount: float = param(
        0.0,
        lo=0.0,
        hi=1000.0,
        doc="`c`: the crowd puts the share `min(1, c * max(0, -GEX) / (p * V))` of the "
        "price/value gap it learns from down to the dealers' hedges (GEX the dealers' gamma "
        "exposure per 1% move, `p * V` the notional traded per day so far) and learns only "
        "the rest; 0 = off",
    )
    news_horizon: float = param(
        150.0,
        lo=0.0,
        hi=1e8,
        lo_open=True,
        unit="s",
        doc="half-life over which the crowd expects the price to absorb news in F; the gap that "
        "news still in transit explains is not learnt",
    )
    beliefs: bool = param(
        False,
        choices=(True, False),
        doc="traders hold beliefs about value (agents/beliefs.py) instead of "
        "seeing the fundamental at every action",
    )
    price_learning: float = param(
        0.05,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="`k_p`: share of the gap to the log price a belief closes at each action",
    )
    value_look_rate: float = param(
        1e-4,
        lo=0.0,
        hi=1.0,
        unit="1/s",
        doc="`lambda_F`: rate per trader of looks at value (1e-4: about 2.3 a day)",
    )
    value_look_weight: float = param(
        0.5,
        lo=0.0,
        hi=1.0,
        unit="fraction",
        doc="`k_F`: share of the gap to the value seen a look closes",
    )
    belief_error_sd: float = param(
        0.005,
        lo=0.0,
        hi=1.0,
        unit="log return",
        doc="s.d. of a trader's persistent error `eta_i` about value",
    )
    sentiment_sd: float = param(
        0.01, lo=0.0, hi=1.0, unit="log return", doc="stationary s.d. of the common sentiment `S_t`"
    )
    sentiment_half_life: float = param(
        117_000.0,
        lo=0.0,
        hi=1e9,
        lo_open=True,
        unit="s",
        doc="half-life of `S_t` (117000 s = 5 trading days)",
    )
    value_horizon_min: float = param(
        1800.0,
        lo=0.0,
        hi=1e9,
        lo_open=True,
        unit="s",
        doc="lower end of the log-uniform value horizon `tau_f,i` (belief mode)",
    )
    value_horizon_max: float = param(
        117_000.0,
        lo="value_horizon_min",
        hi=1e9,
        unit="s",
        doc="upper end of that draw (117000 s = 5 trading days)",
    )
    opinion_half_life_min: float = param(
        60.0,
        lo=0.0,
        hi=1e9,
        unit="s",
        doc="lower end of the log-uniform half-life of a trader's private opinion (its noise "
        "term); 0 (with the upper end 0) = a fresh draw at every action",
    )
    opinion_half_life_max: float = param(
        23_400.0,
        lo="opinion_half_life_min",
        hi=1e9,
        unit="s",
        doc="upper end of that draw",
    )
    initial_shares: int = param(
        1000, lo=-1e12, hi=1e12, unit="shares", doc="endowment per trader (may go short)"
    )
    initial_cash: float = param(
        100_000.0, lo=-1e15, hi=1e15, unit="currency", doc="endowment per trader (may borrow)"
    )

    def check(self) -> None:
        if self.fundamentalist_scale + self.chartist_scale + self.noise_scale <= 0.0:
            raise ConfigError(
                "agents.background: fundamentalist_scale, chartist_scale and noise_scale "
                "must not all be 0"
            )
        if self.opinion_half_life_max > 0.0 and self.opinion_half_life_min <= 0.0:
            raise ConfigError(
                "agents.background.opinion_half_life_min must be > 0 when "
                f"opinion_half_life_max > 0 (got {self.opinion_half_life_min}); "
                "set both to 0 for a fresh opinion at every action"
            )
