"""Structured configs: the schema every Hydra override is type-checked against.

The tree mirrors ``conf/``: ``scenario``, ``market``, ``agents`` (one node per population) and
``desk``. Types are enforced by OmegaConf while composing (a string where a number belongs fails
then, naming the key). Each field declares its range once with :func:`market.validation.param`;
the ranges are checked when the composed config becomes objects, before any simulation work, with
a message that names the field and the allowed range, and ``python -m experiments.parameter_docs``
writes the same declarations out as docs/parameters.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf, ValidationError

from agents.background_config import BackgroundConfig
from agents.closing_flow import ClosingFlowConfig
from agents.customer_config import CustomersConfig
from agents.dealer_config import DealersConfig
from agents.desk import DeskConfig
from agents.insurers import InsurersConfig
from agents.latent_config import LatentConfig
from agents.liquidity import LiquidityConfig
from experiments.events import named_events
from experiments.options_config import OptionsMarketConfig
from experiments.order_value import check_order_values
from market.exchange.clock import OPEN_CLOCK_SECONDS, SECONDS_PER_DAY, wall_clock
from market.exchange.stop_logic import StopLogic
from market.validation import ConfigError, Validated, check_range, param


@dataclass
class ScenarioConfig(Validated):
    """What is simulated: how many days, and the scheduled events."""

    config_path: ClassVar[str] = "scenario"
    #: the bounds a crisis condition may state: the metric strictly below or above a value
    crisis_bounds: ClassVar[tuple[str, ...]] = ("below", "above")

    name: str = param("baseline", doc="the scenario's name (its file under conf/scenario)")
    description: str = param(
        "One calm trading day with every population present.",
        doc="one line on what the scenario shows",
    )
    days: int = param(1, lo=1, hi=250, unit="trading days", doc="length of the run")
    events: Any = param(
        default_factory=dict,
        doc="event name -> event (names [A-Za-z0-9_]+, so overrides say "
        "`scenario.events.program.qty=...`); they fire in time order, ties in listing order",
    )
    arms: dict[str, list[str]] = param(
        default_factory=dict,
        doc="arm name -> dotted `key=value` overrides applied when the run's `arm` is that name "
        "(the control arms that switch a feedback mechanism off)",
    )
    stress_window: list[float] = param(
        default_factory=list,
        unit="s",
        doc="[start, end] clock seconds of the stress window with start < end (empty: none)",
    )
    pin_strike: float | None = param(
        None,
        lo=0.0,
        lo_open=True,
        optional=True,
        unit="currency",
        doc="the strike the close is compared with in pinning scenarios (null: none)",
    )
    reference: dict[str, float] = param(
        default_factory=dict,
        doc="real-world reference figures (docs/reference.md) that studies compare the "
        "metrics with",
    )
    # the conditions' values are typed in check(): OmegaConf refuses an int (`below: -5`) in a
    # nested dict of floats, which a config file should be free to write
    crisis: dict[str, Any] = param(
        default_factory=dict,
        doc="what counts as the scenario's crisis happening in a run: scenario metric name (as "
        "in `reference`) -> `{below: x}` (metric < x), `{above: x}` (metric > x) or both "
        "(above < below); every condition must hold; studies report the share of seeds where "
        "it does (empty: no crisis defined)",
    )

    def check(self) -> None:
        check_name("scenario.name", self.name)
        for arm in self.arms:
            check_name(f"scenario.arms: arm name {arm!r}", arm)
        self._check_crisis()
        if self.stress_window and (
            len(self.stress_window) != 2 or not self.stress_window[0] < self.stress_window[1]
        ):
            raise ConfigError(
                "scenario.stress_window must be [start, end] with start < end, "
                f"got {self.stress_window}"
            )
        named = named_events(self.events)
        for name, ev in named.items():
            ev.validate(f"scenario.events.{name}", self.days)
        # The names address events in config files and overrides; the run needs only the
        # order. No events stay an empty mapping: as the schema's default, config files merge
        # their named events into it.
        self.events = list(named.values()) if named else {}
        self.event_names = list(named)  # for messages about the events after this point

    def _check_crisis(self) -> None:
        """Each crisis condition: a dotted metric name and `below` and/or `above` bounds, finite
        and, when both are given, a non-empty interval."""
        for metric, cond in self.crisis.items():
            where = f"scenario.crisis.{metric}"
            if not all(part.isidentifier() for part in str(metric).split(".")):
                raise ConfigError(
                    f"scenario.crisis: {metric!r} must be a scenario metric's dotted name "
                    "(e.g. worst_5min_return_in_window_pct or pin.abs_distance_pct)"
                )
            if not hasattr(cond, "items") or not cond:
                raise ConfigError(
                    f"{where} must be {{below: x}}, {{above: x}} or both, got {cond!r}"
                )
            unknown = sorted(set(cond) - set(self.crisis_bounds))
            if unknown:
                raise ConfigError(
                    f"{where}: unknown condition {unknown}; write below: x (metric < x) "
                    "and/or above: x (metric > x)"
                )
            for key, bound in cond.items():
                check_range(f"{where}.{key}", bound)
                if abs(bound) == float("inf"):
                    raise ConfigError(f"{where}.{key} must be finite, got {bound!r}")
            self.crisis[metric] = cond = {k: float(v) for k, v in cond.items()}
            if len(cond) == 2 and not cond["above"] < cond["below"]:
                raise ConfigError(
                    f"{where}: above ({cond['above']}) must be less than below "
                    f"({cond['below']}), or no value can satisfy both"
                )


@dataclass
class RulesConfig(Validated):
    """Trading rules: market-wide circuit breakers, limit-up/limit-down, CME-style stop logic."""

    config_path: ClassVar[str] = "market.rules"

    circuit_breakers: bool = param(
        True,
        choices=(True, False),
        doc="market-wide circuit breakers: halts on declines from the previous close",
    )
    cb_levels: list[float] = param(
        default_factory=lambda: [0.07, 0.13, 0.20],
        lo=0.0,
        hi=1.0,
        lo_open=True,
        hi_open=True,
        unit="fraction",
        doc="declines from the previous close of levels 1, 2 and 3 (increasing)",
    )
    cb_halt_seconds: float = param(
        900.0,
        lo=0.0,
        hi=23400.0,
        lo_open=True,
        unit="s",
        doc="halt of levels 1 and 2 (level 3 halts for the day)",
    )
    cb_cutoff: str = param(
        "15:25", unit="HH:MM", doc="levels 1 and 2 halt only before this wall-clock time"
    )
    luld: bool = param(False, choices=(True, False), doc="limit-up/limit-down price bands")
    luld_band_pct: float = param(
        0.05,
        lo=0.0,
        hi=0.5,
        lo_open=True,
        unit="fraction",
        doc="band around the 5-minute average price",
    )
    luld_limit_state_seconds: float = param(
        15.0, lo=0.0, hi=3600.0, unit="s", doc="a limit state lasting this long becomes a pause"
    )
    luld_pause_seconds: float = param(
        300.0,
        lo=0.0,
        hi=23400.0,
        lo_open=True,
        unit="s",
        doc="length of a limit-up/limit-down pause",
    )
    stop_logic: bool = param(True, choices=(True, False), doc="CME-style stop logic")
    stop_max_move: float = param(
        1.0,
        lo=0.0,
        lo_open=True,
        unit="currency",
        doc="an order trading more than this from the reference pauses trading",
    )
    stop_pause_seconds: float = param(
        5.0,
        lo=0.0,
        hi=3600.0,
        lo_open=True,
        unit="s",
        doc="stop-logic pause, ended by the reopening auction",
    )
    stop_reference: str = param(
        "window",
        choices=StopLogic.REFERENCES,
        doc="`window` (CME velocity logic: the prints of the last `stop_lookback_seconds`), "
        "`step` (the last price at each step) or `order` (the touch each incoming order "
        "meets)",
    )
    stop_lookback_seconds: float = param(
        1.0,
        lo=0.0,
        hi=3600.0,
        lo_open=True,
        unit="s",
        doc="lookback of the `window` reference: a print more than `stop_max_move` from any "
        "print of this long ago or since pauses trading",
    )

    def check(self) -> None:
        if len(self.cb_levels) != 3 or sorted(self.cb_levels) != list(self.cb_levels):
            raise ConfigError(
                f"market.rules.cb_levels must be three increasing fractions, got {self.cb_levels}"
            )
        try:
            wall_clock(self.cb_cutoff)
        except ValueError as exc:
            raise ConfigError(f"market.rules.cb_cutoff: {exc}") from exc


@dataclass
class SurfaceConfig(Validated):
    """Implied volatility surface (SSVI, see market.options.surface)."""

    config_path: ClassVar[str] = "market.surface"

    atm_vol: float = param(
        0.175, lo=0.01, hi=3.0, unit="annualised", doc="one-month at-the-money vol"
    )
    # beyond about 0.8 in absolute value the smile has butterfly arbitrage (market.options.surface)
    skew: float = param(
        -0.67,
        lo=-0.8,
        hi=0.8,
        unit="vol per log-moneyness",
        doc="d vol / d log-moneyness at the money at one month (negative: puts richer)",
    )
    curvature: float = param(
        0.05, lo=0.0, hi=5.0, doc="half the second derivative of vol in log-moneyness there"
    )
    term_slope: float = param(
        0.035, lo=-1.0, hi=1.0, unit="annualised", doc="long-end minus short-end ATM vol"
    )


@dataclass
class ChainConfig(Validated):
    """Listed options: expiries (trading days from the start, expiring at that day's close)."""

    config_path: ClassVar[str] = "market.chain"

    expiry_days: list[int] = param(
        default_factory=lambda: [0, 4, 19],
        lo=0,
        hi=250,
        unit="trading days",
        doc="listed expiries, each expiring at that day's close (at least one)",
    )
    strike_step_pct: float = param(
        0.01, lo=0.0, hi=0.2, lo_open=True, unit="fraction of price", doc="distance between strikes"
    )
    n_strikes_each_side: int = param(
        10, lo=1, hi=100, unit="strikes", doc="strikes listed above and below the money"
    )
    multiplier: int = param(100, lo=1, hi=10_000, unit="shares", doc="shares per option contract")
    expiry_cycle_days: int = param(
        5,
        lo=0,
        hi=250,
        unit="trading days",
        doc="rolling listing after the last of `expiry_days`: an expiry on every day d with "
        "(d + 1) divisible by this (5 = weekly); 0 = only `expiry_days`",
    )
    listing_horizon_days: int = param(
        20,
        lo=0,
        hi=250,
        unit="trading days",
        doc="a rolling expiry is listed this many trading days before it expires",
    )
    strike_cover_sd: float = param(
        3.0,
        lo=0.0,
        hi=10.0,
        unit="standard deviations",
        doc="each expiry's strikes also cover this many s.d. of the price's drift from the start "
        "to the last day it trades in the run (at the larger of the fundamental and ATM vols)",
    )

    def check(self) -> None:
        if not self.expiry_days:
            raise ConfigError("market.chain.expiry_days must list at least one day")
        if self.expiry_cycle_days > 0 and self.listing_horizon_days < self.expiry_cycle_days:
            raise ConfigError(
                "market.chain.listing_horizon_days must be >= market.chain.expiry_cycle_days "
                f"({self.expiry_cycle_days}) so a rolling expiry is always listed, "
                f"got {self.listing_horizon_days}"
            )


@dataclass
class IntradayConfig(Validated):
    """The intraday rhythm: every population's Poisson rate times the profile ``s(t)`` of
    :func:`market.exchange.clock.intraday_profile` (mean 1 over the day; boosts 0 = flat)."""

    config_path: ClassVar[str] = "market.intraday"

    open_boost: float = param(
        2.0,
        lo=0.0,
        hi=50.0,
        unit="multiple of midday",
        doc="extra activity at the open, decaying with `tau_open`",
    )
    close_boost: float = param(
        3.0,
        lo=0.0,
        hi=50.0,
        unit="multiple of midday",
        doc="extra activity at the close, building with `tau_close`",
    )
    tau_open: float = param(
        1200.0, lo=0.0, hi=23400.0, lo_open=True, unit="s", doc="time constant of the opening burst"
    )
    tau_close: float = param(
        1200.0,
        lo=0.0,
        hi=23400.0,
        lo_open=True,
        unit="s",
        doc="time constant of the closing build-up",
    )
    news: bool = param(
        True,
        choices=(True, False),
        doc="the fundamental's variance per step follows the news profile (news arrives U-shaped; "
        "the daily variance is unchanged)",
    )
    news_boost_scale: float = param(
        3.5,
        lo=0.0,
        hi=20.0,
        unit="multiple of the boosts",
        doc="with `news`, the news profile's boosts are the activity boosts times this (1: news "
        "follows activity; above 1 news is more concentrated at the open and close than trading)",
    )
    overnight_variance: float = param(
        0.15,
        lo=0.0,
        hi=5.0,
        unit="multiple of a session's variance",
        doc="news of the night: the fundamental jumps at each open after the first by a move "
        "of this variance (0 = the clock's nights carry no news)",
    )


@dataclass
class AuctionsConfig(Validated):
    """Opening and closing call auctions (market.exchange.auctions); 0 s switches a call off."""

    config_path: ClassVar[str] = "market.auctions"

    open_seconds: float = param(
        60.0,
        lo=0.0,
        hi=3600.0,
        unit="s",
        doc="opening call: orders collected for this long, then one uncrossing print",
    )
    close_seconds: float = param(
        60.0,
        lo=0.0,
        hi=3600.0,
        unit="s",
        doc="closing call: continuous trading stops this long before "
        "the close; the uncross is the official close",
    )
    collar: float = param(
        0.01,
        lo=0.0,
        hi=0.5,
        lo_open=True,
        unit="fraction",
        doc="a market order joining a call is priced this far beyond the last trade",
    )
    market_orders_join: bool = param(
        True,
        choices=(True, False),
        doc="market orders sent during a call join it (market-on-open/close) instead of "
        "being refused",
    )


@dataclass
class MarketConfig(Validated):
    """The underlying and its venue. Prices in currency; the tick is the price grid."""

    config_path: ClassVar[str] = "market"

    # The ledger keeps cash in 64-bit integer cents (at most about 9.2e16 currency per account).
    # With this cap and a parent order's cap of 1e9 shares a complete fill moves at most 1e15,
    # the largest endowment, so balances stay some 90 times inside the integer range; every
    # population's largest order is held to the same 1e15 (experiments/order_value.py).
    initial_price: float = param(
        100.0,
        lo=0.0,
        hi=1e6,
        lo_open=True,
        unit="currency",
        doc="price of the underlying at the first open (at most 1e6 so that price times "
        "quantity fits the ledger's 64-bit integer cents with room to spare)",
    )
    tick_size: float = param(
        0.01,
        lo=0.01,
        hi="max_tick_size",
        unit="currency",
        doc="price grid: a whole number of cents (the ledger settles in integer cents, so a "
        "finer or fractional-cent tick could not be paid exactly); at most `initial_price / 10`, "
        "and `initial_price` must lie on it",
    )
    fundamental_vol: float = param(
        0.11,
        lo=0.0,
        hi=5.0,
        unit="annualised",
        doc="volatility of the fundamental value: the news; flow adds its own (the baseline's "
        "price moves about 1.4 times as much over 30 minutes, 1.2 times over a day); "
        "plausible: the S&P 500's realised volatility, about 5% in the calmest years to 80% "
        "in 1987 and 2020 (VIX 9-82)",
        plausible=(0.05, 0.8),
    )
    step_seconds: float = param(1.0, lo=0.01, hi=60.0, unit="s", doc="length of a model step")
    record_interval: float = param(
        10.0,
        lo="step_seconds",
        hi=3600.0,
        unit="s",
        doc="time between recorded rows of the time series",
    )
    rules: RulesConfig = field(default_factory=RulesConfig)
    surface: SurfaceConfig = field(default_factory=SurfaceConfig)
    chain: ChainConfig = field(default_factory=ChainConfig)
    intraday: IntradayConfig = field(default_factory=IntradayConfig)
    auctions: AuctionsConfig = field(default_factory=AuctionsConfig)
    options: OptionsMarketConfig = field(default_factory=OptionsMarketConfig)

    def __post_init__(self) -> None:
        try:
            super().__post_init__()
        except ConfigError as exc:
            # a tick below a cent fails the range; say why the range stops there
            if str(exc).startswith("market.tick_size must be in"):
                raise ConfigError(f"{exc}: {self._WHOLE_CENTS}") from None
            raise

    _WHOLE_CENTS: ClassVar[str] = "a whole number of cents, as the ledger settles in integer cents"

    @property
    def max_tick_size(self) -> float:
        """The largest tick: a tenth of the initial price (currency)."""
        return self.initial_price / 10

    def check(self) -> None:
        cents = self.tick_size * 100
        if abs(cents - round(cents)) > 1e-9 * cents:
            raise ConfigError(f"market.tick_size must be {self._WHOLE_CENTS}, got {self.tick_size}")
        ticks = self.initial_price / self.tick_size
        if abs(ticks - round(ticks)) > 1e-6:
            raise ConfigError(
                f"market.initial_price {self.initial_price} is off the tick grid {self.tick_size}"
            )


@dataclass
class AgentsConfig:
    """One node per population; each population's module documents its own fields."""

    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    liquidity: LiquidityConfig = field(default_factory=LiquidityConfig)
    customers: CustomersConfig = field(default_factory=CustomersConfig)
    dealers: DealersConfig = field(default_factory=DealersConfig)
    insurers: InsurersConfig = field(default_factory=InsurersConfig)
    closing_flow: ClosingFlowConfig = field(default_factory=ClosingFlowConfig)
    latent: LatentConfig = field(default_factory=LatentConfig)


@dataclass
class RunConfig(Validated):
    """The whole run. ``seed`` seeds Mesa's generators and every population's own stream."""

    seed: int = param(0, lo=0, hi=2**63 - 1, doc="seed of every random stream of the run")
    progress: bool = param(True, choices=(True, False), doc="show a progress bar")
    arm: str = param(
        "treatment", doc="`treatment` or the name of one of `scenario.arms` (a control arm)"
    )
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    agents: AgentsConfig = field(default_factory=AgentsConfig)
    desk: DeskConfig = field(default_factory=DeskConfig)

    def check(self) -> None:
        check_order_values(self)  # the largest orders must fit the ledger's integer cents
        # an event after a day's last step would fire at the next day's open, or never on
        # the last day: a silent shift the scenario did not ask for
        last = SECONDS_PER_DAY - self.market.step_seconds
        events = list(self.scenario.events)
        names = getattr(self.scenario, "event_names", None) or range(len(events))
        for name, ev in zip(names, events, strict=True):
            if ev.time_of_day() > last + 1e-9:
                h, rest = divmod(int(last) + OPEN_CLOCK_SECONDS, 3600)
                raise ConfigError(
                    f"scenario.events.{name}.at ({ev.at}) falls after the day's last step at "
                    f"{h:02d}:{rest // 60:02d}:{rest % 60:02d} (market.step_seconds="
                    f"{self.market.step_seconds:g}); it would fire at the next open or never"
                )


def apply_arm(cfg: DictConfig) -> DictConfig:
    """Apply the overrides of the control arm named by ``cfg.arm`` (a copy; types checked).

    ``treatment`` leaves the scenario as configured. An unknown arm, or an override naming a key
    that does not exist, raises :class:`ConfigError` naming it.
    """
    arm = cfg.get("arm", "treatment")
    if arm == "treatment":
        return cfg
    arms = cfg.scenario.get("arms") or {}
    if arm not in arms:
        raise ConfigError(
            f"arm must be 'treatment' or one of {sorted(arms)} for scenario "
            f"{cfg.scenario.name!r}, got {arm!r}"
        )
    out = cfg.copy()
    for item in arms[arm]:
        key, sep, raw = str(item).partition("=")
        if not sep or OmegaConf.select(out, key.strip(), default=_MISSING) is _MISSING:
            raise ConfigError(
                f"scenario.arms.{arm}: {item!r} must be 'key=value' naming an existing key"
            )
        OmegaConf.update(out, key.strip(), override_value(raw, f"scenario.arms.{arm}"), merge=False)
    return out


@functools.cache
def _override_parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def override_value(raw: str, where: str):
    """The value of a ``key=value`` item in a config list (an arm, an HPI study's overrides) read
    as the command line reads it (Hydra's override grammar), so that ``mode=off`` means the
    string "off" and ``at=10:30`` the string "10:30", as they do after
    ``python -m experiments.run``, and not YAML 1.1's boolean false and the number 630."""
    try:
        override = _override_parser().parse_override(f"value={raw}")
    except Exception as exc:  # Hydra raises its own OverrideParseException
        raise ConfigError(f"{where}: cannot read the value {raw!r}: {exc}") from None
    if override.is_sweep_override():
        raise ConfigError(f"{where}: {raw!r} is a sweep; an arm sets one value per key")
    return override.value()


_MISSING = object()

#: names that become part of a file path (run, study and sweep dirs, figure files): one path
#: component, no hidden file, never absolute or a way up
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


def check_name(where: str, value: object, max_len: int = 64) -> None:
    """Refuse a name that is joined into a file path unless it is 1 to ``max_len`` characters of
    ``[A-Za-z0-9_.-]`` not starting with a dot (the bound keeps a dir name made of several
    names under the file systems' 255 bytes); ``where`` names the field."""
    if not isinstance(value, str) or not _SAFE_NAME.fullmatch(value) or len(value) > max_len:
        raise ConfigError(
            f"{where} must be 1-{max_len} characters of [A-Za-z0-9_.-] not starting with '.' "
            f"(it becomes part of a file path), got {value!r}"
        )


def refuse_unknown_keys(cfg: DictConfig, schema: type = RunConfig, path: str = "") -> None:
    """Raise :class:`ConfigError` naming the first key of ``cfg`` that ``schema`` does not declare.

    Hydra's ``+key=value`` adds a key even to a structured config, and the dataclasses would
    then carry it as an attribute nobody reads: ``+agents.background.nn=5`` would run a default
    simulation in silence. Fields typed as free mappings (scenario events, arms, references)
    are not walked here; their own checks refuse what they do not know.
    """
    fields = {f.name for f in dataclasses.fields(schema)}
    for key in cfg:
        where = f"{path}.{key}" if path else str(key)
        if key not in fields:
            close = difflib.get_close_matches(str(key), sorted(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            section = f"{path} has" if path else "the config has"
            raise ConfigError(
                f"unknown config key {where!r}: {section} no such field{hint}; "
                "docs/parameters.md lists every field"
            )
        child = cfg._get_node(key)
        if isinstance(child, DictConfig) and not (child._is_none() or child._is_missing()):
            child_type = OmegaConf.get_type(child)
            if dataclasses.is_dataclass(child_type) and isinstance(child_type, type):
                refuse_unknown_keys(child, child_type, where)


def to_run_config(cfg: DictConfig | RunConfig) -> RunConfig:
    """Composed config (or dataclasses) -> validated :class:`RunConfig` with its arm applied.

    A key the schema does not declare is refused first (:func:`refuse_unknown_keys`).
    """
    if isinstance(cfg, RunConfig):
        cfg = OmegaConf.structured(cfg)
    refuse_unknown_keys(cfg)
    try:
        return OmegaConf.to_object(apply_arm(cfg))
    except ValidationError as exc:
        raise ConfigError(
            str(exc).splitlines()[0] + f" (key: {getattr(exc, 'full_key', '?')})"
        ) from exc


def register_configs() -> None:
    """Register the schema so that conf/config.yaml can type-check against it."""
    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=RunConfig)
