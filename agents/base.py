"""What every participant shares: an account, a random stream, a Poisson clock and fill hooks.

Conventions used by every agent module: side +1 buy, -1 sell; quantities in shares (options in
contracts of ``multiplier`` shares); prices inside the book in integer ticks, elsewhere in currency;
time in seconds since the first open (see :mod:`market.exchange.clock`).

A participant never calls another participant. It sees the market through the model's public
attributes (``model.venue``, ``model.state``, ``model.ledger``, ``model.chain``, ``model.surface``,
``model.fundamental``, ``model.now``) and trades only through ``model.venue`` (shares) or
``model.trade_option`` (options, against the dealers' quotes).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import mesa
import numpy as np

from market.validation import check_choice


class Participant(mesa.Agent):
    """A Mesa agent with its own account in the ledger and its population's random stream.

    ``rate`` is the agent's Poisson activity rate in actions per second; the model draws which
    agents act each step from these rates (vectorised), so idle agents cost nothing.
    ``wants_fills`` asks the model to call :meth:`on_fill` for every print against this agent.
    """

    population: ClassVar[str] = "unassigned"
    wants_fills: ClassVar[bool] = False
    #: endowment the model books into the ledger once every population exists (currency, shares)
    initial_cash: float = 0.0
    initial_shares: int = 0

    def __init__(self, model: mesa.Model, stream: np.random.Generator, rate: float) -> None:
        super().__init__(model)
        if not (rate >= 0.0 and np.isfinite(rate)):
            raise ValueError(
                f"{self.population}: activity rate must be finite and >= 0, got {rate}"
            )
        self.stream = stream
        self.rate = float(rate)

    @property
    def account(self) -> int:
        """Ledger account and book owner id (the Mesa ``unique_id``)."""
        return self.unique_id

    @classmethod
    def activity_multiplier(cls, model: mesa.Model) -> float:
        """Population-wide factor on every member's rate this step (1 = unchanged)."""
        return 1.0

    @abstractmethod
    def act(self) -> None:
        """Decide and send orders; called when the agent's clock fires."""

    def on_fill(self, order_id: int, side: int, qty: int, price: int, aggressor: bool) -> None:
        """Called for each print involving this agent if ``wants_fills`` (price in ticks)."""

    def on_close(self, day: int) -> None:
        """Called at the close of each trading day, after expiries are settled."""


def as_enum(name: str, value, enum_cls):
    """``value`` as a member of ``enum_cls`` (a member, or its value as from a config file).

    A value that names no member raises :class:`market.validation.ConfigError` naming the field
    ``name`` and the allowed values.
    """
    if isinstance(value, enum_cls):
        return value
    raw = getattr(value, "value", value)
    check_choice(name, raw, [m.value for m in enum_cls])
    return enum_cls(raw)
