"""What the facts command runs: seeds, days, the impact sizes, the news, and the two presets.

The seeds default to 1001 and up, which no calibration of the model has used, so the table reads
the model on data nobody tuned it on. Every run is the ``baseline`` scenario (one calm day with
every population, repeated for ``days`` days) with ``overrides`` appended in Hydra's grammar.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

from market.exchange.clock import SECONDS_PER_DAY, wall_clock
from market.validation import ConfigError, Validated, param

#: the scenario every run starts from
SCENARIO = "baseline"
#: impact sizes as a share of the day's volume (Q/V)
DEFAULT_SIZES = (0.001, 0.003, 0.01, 0.03, 0.05)
#: seconds after a public jump of F at which its absorption into the price is read
DEFAULT_NEWS_HORIZONS_S = (60.0, 300.0, 1800.0, 3600.0)
#: the horizons the facts table reads (5 and 30 minutes), whatever the configured ones
TABLE_NEWS_HORIZONS_S = (300.0, 1800.0)
MAX_SEED = 2**63 - 1


@dataclass
class FactsConfig(Validated):
    """Parameters of one facts measurement (times in seconds, sizes as fractions of volume)."""

    config_path: ClassVar[str] = "facts"

    seeds: list[int] = param(
        default_factory=lambda: [1001, 1002, 1003, 1004],
        lo=0,
        hi=MAX_SEED,
        unit="seed",
        doc="seeds of the many-day runs",
    )
    days: int = param(20, lo=1, hi=250, unit="trading days", doc="length of each many-day run")
    impact_seeds: list[int] = param(
        default_factory=lambda: list(range(1001, 1009)),
        lo=0,
        hi=MAX_SEED,
        unit="seed",
        doc="seeds of the paired impact runs (one day each)",
    )
    sizes: list[float] = param(
        default_factory=lambda: list(DEFAULT_SIZES),
        lo=0.0,
        hi=0.5,
        lo_open=True,
        unit="fraction of daily volume",
        doc="parent-order sizes Q/V of the impact experiment",
    )
    participation: float = param(
        0.1, lo=0.0, hi=1.0, lo_open=True, unit="fraction", doc="POV rate of the parent orders"
    )
    start: str = "10:00"
    after_s: float = param(
        3600.0,
        lo=0.0,
        hi=SECONDS_PER_DAY,
        lo_open=True,
        unit="s",
        doc="impact is read again this long after the order completes",
    )
    decay_after_s: list[float] = param(
        default_factory=lambda: [1800.0, 3600.0, 7200.0, 10800.0],
        lo=0.0,
        hi=SECONDS_PER_DAY,
        lo_open=True,
        unit="s",
        doc="horizons after completion at which the decay curve (pooled I_after / I_peak with a "
        "seed-bootstrap interval) is read",
    )
    news_size: float = param(
        0.03,
        lo=0.0,
        hi=0.3,
        lo_open=True,
        unit="log return",
        doc="size of the public jump of F in the news experiment (0.03 = 3%; the sign alternates "
        "by seed, the first falls)",
    )
    news_horizons_s: list[float] = param(
        default_factory=lambda: list(DEFAULT_NEWS_HORIZONS_S),
        lo=0.0,
        hi=SECONDS_PER_DAY,
        lo_open=True,
        unit="s",
        doc="horizons after the news at which its absorption is read (the table's 5 and 30 min "
        "are read as well)",
    )
    tail_fraction: float = param(
        0.05,
        lo=0.0,
        hi=0.5,
        lo_open=True,
        unit="fraction",
        doc="share of the 5-minute returns in the Hill tail",
    )
    workers: int = param(2, lo=1, hi=64, unit="processes", doc="runs in parallel")
    #: Hydra overrides appended to every run (e.g. a smaller population for tests)
    overrides: list[str] = field(default_factory=list)

    def check(self) -> None:
        for name in ("seeds", "impact_seeds", "sizes", "news_horizons_s"):
            if not getattr(self, name):
                raise ConfigError(f"facts.{name} must list at least one value")
        try:
            wall_clock(self.start)
        except ValueError as exc:
            raise ConfigError(f"facts.start: {exc}") from exc

    @property
    def start_s(self) -> float:
        """The parent orders' and the news' arrival, seconds since the open of day 0."""
        return wall_clock(self.start)

    @property
    def news_read_s(self) -> list[float]:
        """Every horizon (s after the news) the news experiment reads, sorted: the configured
        ones and the table's."""
        return sorted({*map(float, self.news_horizons_s), *TABLE_NEWS_HORIZONS_S})


def quick_config() -> FactsConfig:
    """The ``--quick`` preset: a minute or two on two cores, for CI and a first look."""
    return replace(FactsConfig(), seeds=[1001, 1002], days=3, impact_seeds=[1001, 1002])
