"""What every participant shares (an account, a random stream, a Poisson clock and fill hooks),
and what a population of them shares (:class:`Population`).

Conventions used by every agent module: side +1 buy, -1 sell; quantities in shares (options in
contracts of ``multiplier`` shares); prices inside the book in integer ticks, elsewhere in currency;
time in seconds since the first open (see :mod:`market.exchange.clock`).

A participant never calls another participant. It sees the market only through its
:class:`agents.world.World` (``self.world``) and trades only through ``world.venue`` (shares) or
``world.trade_option`` (options, against the dealers' quotes).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, ClassVar, overload

import mesa
import numpy as np

from agents.world import World
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

    def __init__(self, world: World, stream: np.random.Generator, rate: float) -> None:
        super().__init__(world)  # the world is the Mesa model that runs the participant
        if not (rate >= 0.0 and np.isfinite(rate)):
            raise ValueError(
                f"{self.population}: activity rate must be finite and >= 0, got {rate}"
            )
        self.world = world
        self.stream = stream
        self.rate = float(rate)

    @property
    def account(self) -> int:
        """Ledger account and book owner id (the Mesa ``unique_id``)."""
        return self.unique_id

    @abstractmethod
    def act(self) -> None:
        """Decide and send orders; called when the agent's clock fires."""

    def on_fill(self, order_id: int, side: int, qty: int, price: int, aggressor: bool) -> None:
        """Called for each print involving this agent if ``wants_fills`` (price in ticks)."""

    def on_close(self, day: int) -> None:
        """Called at the close of each trading day, after expiries are settled."""


class Population(Sequence[Participant]):
    """One population: its name, shared config and random stream, its members and what they
    share.

    A population is the sequence of its members (``population[0]``, ``len(population)``). Once
    per step, before the activity clocks draw, the simulator calls :meth:`observe` on every
    population with a member that may act; it sets :attr:`activity_multiplier`, the factor on
    every member's rate this step (1 = unchanged). ``RECORDED`` maps time-series columns to the
    member attribute summed over the members (0 for an empty population).
    """

    name: ClassVar[str] = "unassigned"
    RECORDED: ClassVar[dict[str, str]] = {}

    def __init__(self, cfg: Any, stream: np.random.Generator, members: list[Participant]) -> None:
        self.cfg = cfg
        self.stream = stream
        self.members = members
        self.activity_multiplier = 1.0

    @classmethod
    def build(cls, world: World, cfg: Any, stream: np.random.Generator) -> Population:
        """The population with its members, drawn from ``stream`` (no members by default)."""
        return cls(cfg, stream, [])

    @classmethod
    def empty(cls, world: World, cfg: Any, stream: np.random.Generator) -> Population:
        """The population switched off or sized 0: no members, nothing drawn."""
        return cls(cfg, stream, [])

    def observe(self, world: World) -> None:
        """Look at the market once this step (before anyone acts); the base rate by default."""

    def total(self, attr: str) -> float:
        """Sum of ``attr`` over the members (0 for an empty population)."""
        return float(sum(getattr(a, attr) for a in self.members))

    def recorded_columns(self) -> dict[str, Callable[[], float]]:
        """Time-series column -> its value now."""
        return {col: partial(self.total, attr) for col, attr in self.RECORDED.items()}

    def summary(self) -> dict[str, Any] | None:
        """The population's own figures for the run summary (None: nothing to add)."""
        return None

    def tables(self) -> dict[str, Any]:
        """The population's own tables for the run output, by name."""
        return {}

    # ------------------------------------------------------------------ the members
    def __len__(self) -> int:
        return len(self.members)

    @overload
    def __getitem__(self, i: int) -> Participant: ...

    @overload
    def __getitem__(self, i: slice) -> list[Participant]: ...

    def __getitem__(self, i: int | slice) -> Participant | list[Participant]:
        return self.members[i]

    def __iter__(self) -> Iterator[Participant]:
        return iter(self.members)


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
