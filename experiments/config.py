"""Structured configs: the schema every Hydra override is type-checked against.

The tree mirrors ``conf/``: ``scenario``, ``market``, ``agents`` (one node per population) and
``desk``. Types are enforced by OmegaConf while composing (a string where a number belongs fails
then, naming the key); ranges are enforced by each dataclass's ``__post_init__`` when the composed
config becomes objects, before any simulation work, with a message that names the field and the
allowed range.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf, ValidationError

from agents.background import BackgroundConfig
from agents.customers import CustomersConfig
from agents.dealers import DealersConfig
from agents.desk.core import DeskConfig
from agents.insurers import InsurersConfig
from agents.liquidity import LiquidityConfig
from experiments.events import EventConfig, EventKind, named_events  # noqa: F401
from market.exchange.clock import wall_clock
from market.exchange.rules import StopLogic
from market.validation import ConfigError, check_range


@dataclass
class ScenarioConfig:
    """What is simulated: how many days, and the scheduled events."""

    name: str = "baseline"
    description: str = "One calm trading day with every population present."
    days: int = 1
    #: event name -> event in config files (names are [A-Za-z0-9_]+ so that overrides can
    #: address them: ``scenario.events.program.qty=...``); once validated, the events in listing
    #: order. They fire in time order, ties in listing order.
    events: Any = field(default_factory=dict)
    #: arm name -> dotted ``key=value`` overrides applied when the run's ``arm`` is that name
    #: (the control arms that switch a feedback mechanism off)
    arms: dict[str, list[str]] = field(default_factory=dict)
    #: [start, end] clock seconds of the stress window (empty: none)
    stress_window: list[float] = field(default_factory=list)
    #: the strike the close is compared with in pinning scenarios (currency; null: none)
    pin_strike: float | None = None
    #: real-world reference figures (docs/reference.md) that studies compare the metrics with
    reference: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_range("scenario.days", self.days, 1, 250)
        if self.stress_window and (
            len(self.stress_window) != 2 or not self.stress_window[0] < self.stress_window[1]
        ):
            raise ConfigError(
                "scenario.stress_window must be [start, end] with start < end, "
                f"got {self.stress_window}"
            )
        if self.pin_strike is not None:
            check_range("scenario.pin_strike", self.pin_strike, 0.0, None, lo_open=True)
        named = named_events(self.events)
        for name, ev in named.items():
            ev.validate(f"scenario.events.{name}", self.days)
        # The names address events in config files and overrides; the run needs only the
        # order. No events stay an empty mapping: as the schema's default, config files merge
        # their named events into it.
        self.events = list(named.values()) if named else {}


@dataclass
class RulesConfig:
    """Trading rules: market-wide circuit breakers, limit-up/limit-down, CME-style stop logic."""

    circuit_breakers: bool = True
    cb_levels: list[float] = field(default_factory=lambda: [0.07, 0.13, 0.20])
    cb_halt_seconds: float = 900.0
    cb_cutoff: str = "15:25"
    luld: bool = False
    luld_band_pct: float = 0.05
    luld_limit_state_seconds: float = 15.0
    luld_pause_seconds: float = 300.0
    stop_logic: bool = True
    stop_max_move: float = 0.15
    stop_pause_seconds: float = 5.0
    stop_reference: str = "step"

    def __post_init__(self) -> None:
        if len(self.cb_levels) != 3 or sorted(self.cb_levels) != list(self.cb_levels):
            raise ConfigError(
                f"market.rules.cb_levels must be three increasing fractions, got {self.cb_levels}"
            )
        for i, lvl in enumerate(self.cb_levels):
            check_range(f"market.rules.cb_levels[{i}]", lvl, 0.0, 1.0, lo_open=True, hi_open=True)
        check_range(
            "market.rules.cb_halt_seconds", self.cb_halt_seconds, 0.0, 23400.0, lo_open=True
        )
        try:
            wall_clock(self.cb_cutoff)
        except ValueError as exc:
            raise ConfigError(f"market.rules.cb_cutoff: {exc}") from exc
        check_range("market.rules.luld_band_pct", self.luld_band_pct, 0.0, 0.5, lo_open=True)
        check_range(
            "market.rules.luld_limit_state_seconds", self.luld_limit_state_seconds, 0.0, 3600.0
        )
        check_range(
            "market.rules.luld_pause_seconds", self.luld_pause_seconds, 0.0, 23400.0, lo_open=True
        )
        check_range("market.rules.stop_max_move", self.stop_max_move, 0.0, None, lo_open=True)
        check_range(
            "market.rules.stop_pause_seconds", self.stop_pause_seconds, 0.0, 3600.0, lo_open=True
        )
        if self.stop_reference not in StopLogic.REFERENCES:
            raise ConfigError(
                "market.rules.stop_reference must be 'step' (the last price at each step) or "
                f"'order' (the touch each incoming order meets), got {self.stop_reference!r}"
            )


@dataclass
class SurfaceConfig:
    """Implied volatility surface (SSVI, see market.options.surface).

    ``atm_vol`` one-month at-the-money vol; ``skew`` d vol / d log-moneyness at the money at one
    month (negative: puts richer); ``curvature`` half the second derivative there; ``term_slope``
    long-end minus short-end ATM vol.
    """

    atm_vol: float = 0.175
    skew: float = -0.67
    curvature: float = 0.05
    term_slope: float = 0.035

    def __post_init__(self) -> None:
        check_range("market.surface.atm_vol", self.atm_vol, 0.01, 3.0)
        # beyond about 0.8 in absolute value the smile has butterfly arbitrage (market.options.surface)
        check_range("market.surface.skew", self.skew, -0.8, 0.8)
        check_range("market.surface.curvature", self.curvature, 0.0, 5.0)
        check_range("market.surface.term_slope", self.term_slope, -1.0, 1.0)


@dataclass
class ChainConfig:
    """Listed options: expiries (trading days from the start, expiring at that day's close)."""

    expiry_days: list[int] = field(default_factory=lambda: [0, 4, 19])
    strike_step_pct: float = 0.01
    n_strikes_each_side: int = 10
    multiplier: int = 100

    def __post_init__(self) -> None:
        if not self.expiry_days:
            raise ConfigError("market.chain.expiry_days must list at least one day")
        for i, d in enumerate(self.expiry_days):
            check_range(f"market.chain.expiry_days[{i}]", d, 0, 250)
        check_range("market.chain.strike_step_pct", self.strike_step_pct, 0.0, 0.2, lo_open=True)
        check_range("market.chain.n_strikes_each_side", self.n_strikes_each_side, 1, 100)
        check_range("market.chain.multiplier", self.multiplier, 1, 10_000)


@dataclass
class MarketConfig:
    """The underlying and its venue. Prices in currency; the tick is the price grid."""

    initial_price: float = 100.0
    tick_size: float = 0.01
    fundamental_vol: float = 0.15
    step_seconds: float = 1.0
    record_interval: float = 10.0
    rules: RulesConfig = field(default_factory=RulesConfig)
    surface: SurfaceConfig = field(default_factory=SurfaceConfig)
    chain: ChainConfig = field(default_factory=ChainConfig)

    def __post_init__(self) -> None:
        check_range("market.initial_price", self.initial_price, 0.0, None, lo_open=True)
        check_range("market.tick_size", self.tick_size, 0.0, self.initial_price / 10, lo_open=True)
        ticks = self.initial_price / self.tick_size
        if abs(ticks - round(ticks)) > 1e-6:
            raise ConfigError(
                f"market.initial_price {self.initial_price} is off the tick grid {self.tick_size}"
            )
        check_range("market.fundamental_vol", self.fundamental_vol, 0.0, 5.0)
        check_range("market.step_seconds", self.step_seconds, 0.01, 60.0)
        check_range("market.record_interval", self.record_interval, self.step_seconds, 3600.0)


@dataclass
class AgentsConfig:
    """One node per population; each population's module documents its own fields."""

    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    liquidity: LiquidityConfig = field(default_factory=LiquidityConfig)
    customers: CustomersConfig = field(default_factory=CustomersConfig)
    dealers: DealersConfig = field(default_factory=DealersConfig)
    insurers: InsurersConfig = field(default_factory=InsurersConfig)


@dataclass
class RunConfig:
    """The whole run. ``seed`` seeds Mesa's generators and every population's own stream."""

    seed: int = 0
    progress: bool = True
    #: "treatment" or the name of one of ``scenario.arms`` (a control arm)
    arm: str = "treatment"
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    agents: AgentsConfig = field(default_factory=AgentsConfig)
    desk: DeskConfig = field(default_factory=DeskConfig)

    def __post_init__(self) -> None:
        check_range("seed", self.seed, 0, 2**63 - 1)


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
        OmegaConf.update(out, key.strip(), _override_value(raw, f"scenario.arms.{arm}"),
                         merge=False)
    return out


@functools.cache
def _override_parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def _override_value(raw: str, where: str):
    """An arm's value read as the command line reads it (Hydra's override grammar), so that
    ``mode=off`` means the string "off", as it does after ``python -m experiments.run``, and
    not YAML 1.1's boolean false."""
    try:
        override = _override_parser().parse_override(f"value={raw}")
    except Exception as exc:  # Hydra raises its own OverrideParseException
        raise ConfigError(f"{where}: cannot read the value {raw!r}: {exc}") from None
    if override.is_sweep_override():
        raise ConfigError(f"{where}: {raw!r} is a sweep; an arm sets one value per key")
    return override.value()


_MISSING = object()


def to_run_config(cfg: DictConfig | RunConfig) -> RunConfig:
    """Composed config (or dataclasses) -> validated :class:`RunConfig` with its arm applied."""
    if isinstance(cfg, RunConfig):
        cfg = OmegaConf.structured(cfg)
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
