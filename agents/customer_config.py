"""The option customers' parameters (:class:`CustomersConfig`) and their kinds of flow
(:class:`FlowType`); the customers themselves are in :mod:`agents.customers`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import numpy as np

from market.validation import ConfigError, Validated, param


class FlowType(Enum):
    """The kinds of customer option flow."""

    protective_put = "protective_put"
    speculative_call = "speculative_call"
    covered_call = "covered_call"
    call_frenzy = "call_frenzy"
    put_selling = "put_selling"


FLOW_TYPES = tuple(FlowType)
#: flow type -> the config field holding its moneyness range [low, high] (strike / spot)
MONEYNESS_FIELDS = {
    FlowType.protective_put: "put_moneyness",
    FlowType.speculative_call: "call_moneyness",
    FlowType.covered_call: "covered_call_moneyness",
    FlowType.call_frenzy: "frenzy_moneyness",
    FlowType.put_selling: "put_selling_moneyness",
}
#: fields given as numbers in a config file but used as counts (stored as int)
_WHOLE_NUMBER_FIELDS = ("n", "contracts_min", "contracts_max", "opening_trades_per_act")


@dataclass
class CustomersConfig(Validated):
    """Parameters of the option-customer population (see the module docstring).

    Flow weights are relative intensities (>= 0, at least one > 0); moneyness ranges are
    ``[low, high]`` of strike / mid with 0 < low <= high <= 10.
    """

    config_path: ClassVar[str] = "agents.customers"

    n: int = param(60, lo=0, hi=100_000, unit="agents", doc="number of customers")
    rate: float = param(
        0.001,
        lo=0.0,
        hi=100.0,
        unit="actions/s",
        doc="option trades per customer, before the frenzy's boost; plausible: a third to five "
        "times the default, whose options volume is near the S&P's usual share (docs/gamma.md)",
        plausible=(0.0003, 0.005),
    )
    initial_cash: float = param(
        1_000_000.0,
        lo=0.0,
        hi=1e15,
        unit="currency",
        doc="cash per customer; a customer whose cash is not positive only sells",
    )
    protective_put_weight: float = param(
        0.35,
        lo=0.0,
        hi=1e6,
        doc="buying out-of-the-money puts (`put_moneyness`); plausible (with the other weights "
        "near their defaults): index put/call volume ratios of about 1-2.5 (CBOE)",
        plausible=(0.1, 0.8),
    )
    speculative_call_weight: float = param(
        0.25,
        lo=0.0,
        hi=1e6,
        doc="buying out-of-the-money calls (`call_moneyness`); plausible: calls from a quarter "
        "to two thirds of customers' buying (CBOE; the 2020-21 retail call boom)",
        plausible=(0.1, 0.6),
    )
    covered_call_weight: float = param(
        0.25, lo=0.0, hi=1e6, doc="writing out-of-the-money calls (`covered_call_moneyness`)"
    )
    call_frenzy_weight: float = param(
        0.0,
        lo=0.0,
        hi=1e6,
        doc="chasing call buying (`frenzy_*`); 0 = no frenzy; plausible: up to about the rest "
        "of the flow together, as single-stock call volume doubled in 2020-21 (OCC)",
        plausible=(0.0, 1.0),
    )
    put_selling_weight: float = param(
        0.15, lo=0.0, hi=1e6, doc="selling out-of-the-money puts (`put_selling_moneyness`)"
    )
    typed: bool = param(
        False,
        choices=(True, False),
        doc="`true`: each customer keeps one flow type, drawn from the weights, for the whole run",
    )
    put_moneyness: list[float] = param(
        default_factory=lambda: [0.90, 0.98],
        lo=0.0,
        hi=10.0,
        lo_open=True,
        unit="strike / spot",
        doc="strikes of protective puts",
    )
    call_moneyness: list[float] = param(
        default_factory=lambda: [1.02, 1.10],
        lo=0.0,
        hi=10.0,
        lo_open=True,
        unit="strike / spot",
        doc="strikes of speculative calls",
    )
    covered_call_moneyness: list[float] = param(
        default_factory=lambda: [1.01, 1.06],
        lo=0.0,
        hi=10.0,
        lo_open=True,
        unit="strike / spot",
        doc="strikes of covered calls",
    )
    frenzy_moneyness: list[float] = param(
        default_factory=lambda: [1.00, 1.05],
        lo=0.0,
        hi=10.0,
        lo_open=True,
        unit="strike / spot",
        doc="strikes of frenzy calls",
    )
    put_selling_moneyness: list[float] = param(
        default_factory=lambda: [0.93, 0.99],
        lo=0.0,
        hi=10.0,
        lo_open=True,
        unit="strike / spot",
        doc="strikes of sold puts",
    )
    # Sizes set the dealers' scale: with the default flow mix the bought and sold options
    # largely offset, and 8-320 contracts give a mean |GEX| per 1% move of about 1% of the
    # day's traded value (docs/gamma.md; 1-40 gave 0.06-0.1%).
    contracts_min: int = param(
        8,
        lo=1,
        hi=1e6,
        unit="contracts",
        doc="smallest trade; sizes are uniform whole contracts in [min, max]",
    )
    contracts_max: int = param(
        320, lo="contracts_min", hi=1e6, unit="contracts", doc="largest trade"
    )
    frenzy_size_multiplier: float = param(
        3.0,
        lo=1.0,
        hi=1e3,
        unit="multiple",
        doc="frenzy trades are this many times the drawn size; plausible: 1-5, small lots "
        "bought many times rather than block trades",
        plausible=(1.0, 5.0),
    )
    frenzy_chase: float = param(
        1.0,
        lo=0.0,
        hi=1e3,
        unit="per 1% return",
        doc="frenzy intensity times `1 + frenzy_chase * max(r, 0) / 1%`; 0 = no chasing",
    )
    frenzy_window_seconds: float = param(
        1800.0,
        lo=0.0,
        hi=1e7,
        lo_open=True,
        unit="s",
        doc="span of the log return `r` the frenzy chases",
    )
    frenzy_side: int = param(
        1,
        choices=(1, -1),
        doc="the frenzy's side: +1 buys its calls (the dealers sell them and are short gamma), "
        "-1 writes them (the dealers buy them and are long gamma: the same option flow with "
        "the dealers' gamma reversed, gamma_squeeze's long-gamma control)",
    )
    frenzy_nearest_expiry: bool = param(
        True,
        choices=(True, False),
        doc="frenzy buys the nearest live expiry (else drawn from `expiry_weights`)",
    )
    expiry_weights: list[float] = param(
        default_factory=list,
        lo=0.0,
        hi=1e6,
        doc="one weight per `market.chain.expiry_days` entry; empty = equal",
    )
    min_seconds_to_expiry: float = param(
        600.0, lo=0.0, hi=1e7, unit="s", doc="contracts this close to expiry are not traded"
    )
    close_hazard: float = param(
        0.5,
        lo=0.0,
        hi=1e3,
        unit="per trading day",
        doc="rate at which each open customer contract is closed (traded back); mean holding "
        "1 / hazard days; 0 = customers never close",
    )
    min_close_value: float = param(
        0.05,
        lo=0.0,
        hi=1e6,
        unit="currency per share",
        doc="positions worth less than this at the surface's mid are left to expire, not closed",
    )
    opening_trades_per_act: int = param(
        4,
        lo=1,
        hi=1e6,
        unit="trades",
        doc="trades of the dealers' opening book a customer executes per action",
    )

    def check(self) -> None:
        p = self.config_path
        if self.weights().sum() <= 0.0:
            raise ConfigError(f"{p}: at least one of the *_weight fields must be > 0")
        for name in MONEYNESS_FIELDS.values():
            rng = list(getattr(self, name))
            if len(rng) != 2 or rng[0] > rng[1]:
                raise ConfigError(
                    f"{p}.{name} must be [low, high] (strike / spot) with low <= high, got {rng!r}"
                )
        for name in _WHOLE_NUMBER_FIELDS:
            value = getattr(self, name)
            if value != int(value):
                raise ConfigError(f"{p}.{name} must be a whole number, got {value!r}")
            # a count drawn with stream.integers or used in range() must be an int
            setattr(self, name, int(value))
        if self.expiry_weights and sum(self.expiry_weights) <= 0:
            raise ConfigError(f"{p}.expiry_weights must have a positive entry (or be empty)")

    def weights(self) -> np.ndarray:
        """Flow-type weights in :data:`FLOW_TYPES` order."""
        return np.array([getattr(self, f"{ft.value}_weight") for ft in FLOW_TYPES], dtype=float)

    def moneyness(self, flow: FlowType) -> tuple[float, float]:
        """The ``[low, high]`` strike / spot range of ``flow``'s strikes."""
        lo, hi = getattr(self, MONEYNESS_FIELDS[flow])
        return float(lo), float(hi)
