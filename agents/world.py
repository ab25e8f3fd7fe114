"""What a participant may see and do: the :class:`World` protocol.

Agents are typed against this protocol, never against the simulator that implements it, so the
whole surface between a participant and the rest of the simulation is written down here.
Conventions: side +1 buy / -1 sell; prices inside the book in integer ticks, elsewhere in
currency; quantities in shares (options in contracts); time in seconds since the first open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray

from market.exchange.clearing import Ledger
from market.exchange.market_state import MarketState
from market.exchange.venue import BookView, Venue
from market.options.chain import OptionChain
from market.options.surface import VolSurface


class OptionFill(NamedTuple):
    """What an option order did at once: ``filled`` contracts at ``price`` (currency per share,
    the average over the fills; 0.0 when none filled) and ``resting`` contracts left working on
    an order book (book mode only; their later fills are the venue's to report)."""

    filled: int
    price: float
    resting: int = 0


class OptionTake(NamedTuple):
    """What an immediate-or-cancel order on an option book took: ``filled`` contracts at
    ``price`` (currency per share, the average; 0.0 when none filled), of which
    ``dealer_filled`` against dealers' quotes at ``dealer_price`` (their average; 0.0 when
    none). ``refused`` when the venue refused the order (halted, not listed, price protection)."""

    filled: int
    price: float
    dealer_filled: int = 0
    dealer_price: float = 0.0
    refused: bool = False


class OptionTops(NamedTuple):
    """The option books' top of book, indexed by chain row: ``bid_px``, ``ask_px`` in option
    ticks and ``bid_sz``, ``ask_sz`` in contracts (0 and 0 for an empty side, -1 everywhere for
    a series not listed); ``tick`` is currency per option tick (per share); ``halted`` whether
    the option books are halted. The arrays are read-only and refreshed by the next read."""

    bid_px: NDArray[np.int64]
    bid_sz: NDArray[np.int64]
    ask_px: NDArray[np.int64]
    ask_sz: NDArray[np.int64]
    tick: float
    halted: bool


class World(Protocol):
    """Everything a participant may read and every way it may act.

    Reads: the clock (``now``, ``day``, ``dt``), the public calendar (``days``,
    ``scheduled_event_times``), the price grid (``tick``, currency per tick), the book
    (``book_view``, read-only, and its message count ``book_amendments``), observations
    (``state``), options (``chain``, ``surface``), the fundamental value (``fundamental``,
    currency), accounts (``ledger``; a participant reads its own rows) and the first price of the
    run (``initial_price``).
    Acts: orders through ``venue``, order lifetimes through :meth:`cancel_at`, option trades
    through :meth:`trade_option` and :meth:`fill_option`; in book mode the option books' tops
    through :meth:`option_tops` and immediate-or-cancel orders on them through
    :meth:`take_option`.
    """

    @property
    def now(self) -> float:
        """Clock seconds since the first open."""

    @property
    def day(self) -> int:
        """Trading day, 0-based."""

    @property
    def dt(self) -> float:
        """Seconds per step."""

    @property
    def days(self) -> int:
        """Trading days in the run (the session calendar every participant knows)."""

    @property
    def scheduled_event_times(self) -> Sequence[float]:
        """Clock seconds of the events on the public calendar (a macro print, an auction), in
        the order they were announced. News that was not announced never appears here: it is
        seen only through its effect on prices."""

    @property
    def tick(self) -> float:
        """Currency per tick."""

    @property
    def initial_price(self) -> float:
        """The underlying's price at the first open (currency)."""

    @property
    def expiry_days(self) -> Sequence[int]:
        """The listed expiries as trading-day indices, in the order they were configured."""

    @property
    def venue(self) -> Venue:
        """Where orders go (every print is settled as it happens)."""

    @property
    def book_view(self) -> BookView:
        """The order book, read-only."""

    @property
    def book_amendments(self) -> int:
        """Cancel and reduce messages the book has accepted so far (a public message count,
        as a market-data feed shows it)."""

    @property
    def state(self) -> MarketState:
        """Mid, last, spread, volatility and volume observations of the underlying."""

    @property
    def chain(self) -> OptionChain:
        """Listed options and their open interest."""

    @property
    def surface(self) -> VolSurface:
        """Implied volatilities."""

    @property
    def fundamental(self) -> float:
        """The underlying's fundamental value now (currency)."""

    @property
    def public_news(self) -> float:
        """The sum of the fundamental's public jumps so far (log): the night's news and news
        events, which everyone hears of at once; its diffusion between them is not public."""

    @property
    def dealer_gex(self) -> float:
        """The delta-hedging option dealers' summed gamma exposure per 1% move of the
        underlying (currency; negative = short gamma) as of their last revaluation, 0 without
        them: the positioning a market that reads the exchange's open-close statistics by
        account type knows, counted only where hedges reach the market."""

    @property
    def ledger(self) -> Ledger:
        """Cash (cents), shares and option positions of every account."""

    def to_ticks(self, price: float) -> int:
        """Nearest tick of a currency price (at least one tick)."""

    def cancel_at(self, order_id: int, when: float) -> None:
        """Cancel ``order_id`` at clock time ``when`` if it is still live then."""

    def trade_option(self, account: int, contract: int, side: int, qty: int) -> float | None:
        """Trade ``qty`` contracts on ``side`` (+1 buys) at the best dealer quote for ``account``.

        Returns the premium per share (currency), or None when no dealer quotes.
        """

    def fill_option(self, account: int, contract: int, side: int, qty: int) -> OptionFill:
        """A customer's option order for ``qty`` contracts on ``side``: in ``rfq`` mode
        :meth:`trade_option` (all or nothing), in ``book`` mode an order on the series' book
        (``market.options``); returns what filled at once and what rests."""

    def option_package_shares(self) -> tuple[float, float, float, float]:
        """The share of customers' new option trades sent as packages and the shares of those
        that are straddles, calendars and diagonals (``market.options``; zeros in ``rfq``
        mode)."""

    def fill_option_package(
        self, account: int, legs: Sequence[tuple[int, int]], side: int, qty: int
    ) -> OptionFill:
        """A customer's order for ``qty`` packages of ``legs`` (``(contract, ratio)``) on
        ``side`` to the complex order book (book mode only): packages filled at once at
        ``price`` (the net premium per share, currency, may be negative) and packages resting."""

    def option_tops(self) -> OptionTops | None:
        """The option books' top of book now (book mode), or None when options trade on
        request (``rfq``)."""

    def take_option(
        self, account: int, contract: int, side: int, price: int, qty: int
    ) -> OptionTake:
        """An immediate-or-cancel order for ``qty`` contracts on ``side`` in ``contract`` at
        limit ``price`` (option ticks) on its book (book mode only: raises ``ValueError`` in
        ``rfq`` mode); what it took, what of that came from dealers, or that it was refused."""

    def dealer_opening_book(self) -> list[tuple[int, int, int]]:
        """The customer trades ``(contract, customer side, contracts)`` that give the dealers
        their configured opening book (empty when there are no dealers or the book is flat)."""

    def shares_endowed(self) -> int:
        """Shares endowed to the members of every population built so far."""
