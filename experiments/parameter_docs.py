"""docs/parameters.md, generated from the configs' declared fields.

Every configurable field declares its default, unit, range and meaning once, with
:func:`market.validation.param`; this module lays those declarations out as one Markdown table per
config class, in the order of the config tree. ``python -m experiments.parameter_docs`` writes
the file; ``--check`` exits 1 if the file on disk differs from what the code declares (a test runs
the same comparison), so the reference cannot drift from the checks.

A new config class is documented by adding one :class:`Section` to :data:`SECTIONS`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from agents.background_config import BackgroundConfig
from agents.closing_flow import ClosingFlowConfig
from agents.customer_config import CustomersConfig
from agents.dealer_config import DealersConfig
from agents.desk.config import DeskConfig, HPIObserverConfig, HPIPolicyConfig
from agents.desk.orders import ParentOrderSpec
from agents.insurers import InsurersConfig
from agents.latent_config import LatentConfig
from agents.liquidity import LiquidityConfig
from experiments.config import (
    AuctionsConfig,
    ChainConfig,
    IntradayConfig,
    MarketConfig,
    RulesConfig,
    RunConfig,
    ScenarioConfig,
    SurfaceConfig,
)
from experiments.events import FundamentalShockSpec, FundamentalVolSpec
from experiments.options_config import OptionsMarketConfig
from market.validation import parameter_table

#: where the reference lives, relative to the repository root
DOCS_PATH = Path(__file__).resolve().parents[1] / "docs" / "parameters.md"


@dataclass(frozen=True)
class Section:
    """One config class in the reference: its table and a line on what it configures.

    The config-tree key (``agents.background``; empty at the top level) is the class's own
    ``config_path``, so a section cannot name its fields under the wrong key.
    """

    title: str
    config: type
    intro: str

    @property
    def path(self) -> str:
        return self.config.config_path


SECTIONS: tuple[Section, ...] = (
    Section(
        "Run", RunConfig, "The top level of the config: the seed, the progress bar and the arm."
    ),
    Section(
        "Scenario",
        ScenarioConfig,
        "What is simulated: how many days, the scheduled events and the control arms "
        "(conf/scenario/*.yaml).",
    ),
    Section("Market", MarketConfig, "The underlying and its venue (conf/market/default.yaml)."),
    Section(
        "Trading rules",
        RulesConfig,
        "Market-wide circuit breakers, limit-up/limit-down and CME-style stop logic.",
    ),
    Section(
        "Volatility surface",
        SurfaceConfig,
        "The SSVI implied-volatility surface the options are priced off.",
    ),
    Section(
        "Option chain",
        ChainConfig,
        "The listed options: expiries, strikes and the contract multiplier.",
    ),
    Section(
        "Intraday rhythm",
        IntradayConfig,
        "The U-shaped activity profile applied to every population's Poisson rate.",
    ),
    Section(
        "Call auctions",
        AuctionsConfig,
        "Opening and closing call auctions and market-on-open/close orders.",
    ),
    Section(
        "Options market",
        OptionsMarketConfig,
        "How options trade: on request from the dealers (`rfq`) or on order books where the "
        "dealers quote (`book`); docs/options_market.md.",
    ),
    Section(
        "Background traders",
        BackgroundConfig,
        "Chiarella-Iori-Perello traders (fundamentalist, chartist, noise); each trader's "
        "weights are `|Laplace(0, scale)|` draws, its expected price `p_hat`, its horizon "
        "`tau_i`.",
    ),
    Section(
        "Fast liquidity providers",
        LiquidityConfig,
        "Two-sided quotes skewed by inventory; withdrawal under stress. Inventory is shares "
        "held minus `initial_shares`; `vol` is the model's EWMA volatility.",
    ),
    Section(
        "Option customers",
        CustomersConfig,
        "Option flow at the dealers' quotes. Flow weights are relative intensities (at least "
        "one > 0); moneyness ranges are `[low, high]` of strike / spot, e.g. "
        "`agents.customers.put_moneyness=[0.85,0.95]`.",
    ),
    Section(
        "Option dealers",
        DealersConfig,
        "Quote off the surface and delta-hedge in the shared book. The hedging fields go to "
        "the policy named by `policy` (agents/hedging_policies.py); each policy reads only "
        "its own.",
    ),
    Section(
        "Portfolio insurers",
        InsurersConfig,
        "CPPI and synthetic-put replication. `V` is an insurer's portfolio value at the mid.",
    ),
    Section(
        "Closing flow",
        ClosingFlowConfig,
        "Index funds and leveraged ETFs sending one limit- or market-on-close order a day into "
        "the closing call.",
    ),
    Section(
        "Latent liquidity",
        LatentConfig,
        "Latent investors whose orders stay hidden until the price comes near them (a latent "
        "order book, agents/latent_liquidity.py); they learn value from the price, and their "
        "deposits thin in storms and thicken in calm.",
    ),
    Section(
        "Execution desk",
        DeskConfig,
        "The desk that works parent orders (POV or TWAP) in child slices (conf/desk/*.yaml).",
    ),
    Section(
        "HPI state machine",
        HPIPolicyConfig,
        "CALM / PRESSURED / DISLOCATED / SAFE from the Hedge Pressure Index, with hysteresis.",
    ),
    Section(
        "HPI observer",
        HPIObserverConfig,
        "The index's components, built only from what an outside desk can see.",
    ),
    Section(
        "Parent orders",
        ParentOrderSpec,
        "A parent order's fields, as a `parent_order` scenario event gives them.",
    ),
    Section(
        "Fundamental shocks",
        FundamentalShockSpec,
        "A `fundamental_shock` scenario event's size (`scenario.events.<name>.size`).",
    ),
    Section(
        "Fundamental volatility changes",
        FundamentalVolSpec,
        "A `fundamental_vol` scenario event's new volatility (`scenario.events.<name>.value`).",
    ),
)

_HEADER = """\
# Parameters

<!-- Generated by `python -m experiments.parameter_docs` from the declared config fields;
     edit the declarations in the code, not this file. -->

Every field of every config, with its default, its unit, the values it accepts (checked before
the run starts, with a message naming the field) and what it does. Set a field on the command
line by its full name, e.g. `python -m experiments.run agents.dealers.policy=whalley_wilmott`.

Units: rates in actions per second per agent, times in seconds, sizes in shares, options in
contracts, volatilities annualised (0.2 = 20%), money in currency; an empty unit is a pure number.
Ranges: `[a, b]` includes its ends, `(a, b)` excludes them; a bound that names another field
(`[horizon_min, 86400.0]`) takes that field's value; `or null` means the field may be none
(`null` on the command line); `any` is checked by the rules stated in the meaning, if at all.
Plausible: the values a real market makes believable, with the source in the meaning; a run
accepts anything allowed, but a calibration (docs/calibration.md) searches only inside the
plausible range, and a field without one cannot be calibrated.
"""


def render(sections: tuple[Section, ...] = SECTIONS) -> str:
    """The whole of docs/parameters.md."""
    parts = [_HEADER]
    for s in sections:
        key = f"`{s.path}`" if s.path else "top level"
        # a stable anchor per config key (docs link to parameters.md#agents.background)
        anchor = f'<a id="{s.path or "run"}"></a>\n\n'
        parts.append(
            f"{anchor}## {s.title} ({key}, `{s.config.__name__}`)\n\n{s.intro}\n\n"
            f"{parameter_table(s.config, s.path)}\n"
        )
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Write docs/parameters.md, or with ``--check`` report (exit 1) whether it is stale."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.parameter_docs", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if docs/parameters.md differs from the declarations",
    )
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = DOCS_PATH.read_text(encoding="utf-8") if DOCS_PATH.exists() else ""
        if current != text:
            print(
                f"{DOCS_PATH.name} is stale: run python -m experiments.parameter_docs",
                file=sys.stderr,
            )
            return 1
        return 0
    DOCS_PATH.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
