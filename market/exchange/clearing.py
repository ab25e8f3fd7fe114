"""Clearing: one ledger of every participant's cash, shares and option positions, and the
settlement of every print into it.

Units: cash in integer **cents** (so conservation is exact, not approximately so), shares in
shares, options in contracts (each contract covers ``multiplier`` shares). Every movement is a
transfer between exactly two accounts, so the column sums never change: the residuals returned by
:meth:`Ledger.residuals` are zero after any sequence of trades, option sales and expiries.
Account ``0`` is unused by agents (Mesa's ids start at 1) and may serve as the clearing house.

:class:`Clearing` settles each underlying print and each option trade the moment it happens, and
keeps the per-group flow figures (groups are populations to the simulator; here they are only
integers per account), so nothing above it needs to touch the ledger to move a position.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from market.exchange.order_book import Trade


class ConservationError(RuntimeError):
    """Raised when cash, shares or option positions do not sum to their starting totals."""


class LedgerOverflowError(OverflowError):
    """Raised when a transfer would take a balance outside the 64-bit integers it is kept in."""


_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


def _fits_int64(*values: int) -> bool:
    """True if every value (a Python int, exact) fits a 64-bit signed integer."""
    return all(_INT64_MIN <= v <= _INT64_MAX for v in values)


def _is_whole(x: object) -> bool:
    """True for an integer (Python or numpy), not a bool, a float or anything else."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def to_cents(amount: float) -> int:
    """Round a currency amount half away from zero to whole cents."""
    return int(np.sign(amount) * np.floor(abs(amount) * 100.0 + 0.5 + 1e-9))


class Ledger:
    """Cash, shares and option positions of ``n_accounts`` accounts over ``n_contracts`` options."""

    def __init__(self, n_accounts: int, n_contracts: int = 0, multiplier: int = 100) -> None:
        if n_accounts < 1:
            raise ValueError(f"n_accounts must be >= 1, got {n_accounts}")
        if n_contracts < 0:
            raise ValueError(f"n_contracts must be >= 0, got {n_contracts}")
        if multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, got {multiplier}")
        self.multiplier = int(multiplier)
        self.cash = np.zeros(n_accounts, dtype=np.int64)
        self.shares = np.zeros(n_accounts, dtype=np.int64)
        self.options = np.zeros((n_accounts, n_contracts), dtype=np.int64)
        self._cash0 = 0
        self._shares0 = 0
        self.n_transfers = 0

    # -- endowments (before trading starts; they set the totals that must be conserved)
    def endow(self, account: int, cash: float = 0.0, shares: int = 0) -> None:
        c = to_cents(cash)
        self.cash[account] += c
        self.shares[account] += int(shares)
        self._cash0 += c
        self._shares0 += int(shares)

    # -- transfers
    def settle_trade(self, buyer: int, seller: int, qty: int, price_cents: int) -> None:
        """Shares ``qty`` from seller to buyer; ``qty * price_cents`` from buyer to seller.

        ``qty`` must be a whole number of shares > 0 and ``price_cents`` a whole number of
        cents >= 0 (a negative quantity would move shares and cash backwards, a fractional one
        would be truncated); ``ValueError`` otherwise. :class:`LedgerOverflowError` if a
        balance would leave the 64-bit range (it would wrap round in silence).
        """
        if not _is_whole(qty) or qty <= 0:
            raise ValueError(f"trade qty must be a whole number of shares > 0, got {qty!r}")
        if not _is_whole(price_cents) or price_cents < 0:
            raise ValueError(f"trade price must be whole cents >= 0, got {price_cents!r}")
        qty, value = int(qty), int(qty) * int(price_cents)  # Python ints: exact
        self._move(self.cash, buyer, seller, value, "cash (cents)")
        self._move(self.shares, seller, buyer, qty, "shares")
        self.n_transfers += 1

    @staticmethod
    def _move(column: NDArray[np.int64], payer: int, payee: int, amount: int, what: str) -> None:
        """``amount`` from ``payer`` to ``payee`` in ``column``, refusing to wrap round."""
        if payer == payee:  # an account trading with itself: nothing moves
            return
        paid, received = int(column[payer]) - amount, int(column[payee]) + amount
        if not _fits_int64(paid, received):
            raise LedgerOverflowError(
                f"a transfer of {amount} {what} from account {payer} to {payee} leaves the "
                "ledger's 64-bit range"
            )
        column[payer] = paid
        column[payee] = received

    def settle_option(
        self, buyer: int, seller: int, contract: int, qty: int, premium: float
    ) -> int:
        """``qty`` contracts from seller to buyer at ``premium`` per share; returns cents paid."""
        if qty <= 0:
            raise ValueError(f"option qty must be > 0, got {qty}")
        if premium < 0 or not np.isfinite(premium):
            raise ValueError(f"option premium must be finite and >= 0, got {premium}")
        value = to_cents(premium * self.multiplier) * int(qty)
        self._move(self.cash, buyer, seller, value, "cash (cents)")
        self.options[buyer, contract] += qty
        self.options[seller, contract] -= qty
        self.n_transfers += 1
        return value

    def settle_expiry(self, contract: int, payoff: float) -> np.ndarray:
        """Cash-settle ``contract`` at ``payoff`` per share: longs receive, shorts pay.

        Positions in a contract sum to zero, so the payments net to zero as well. Returns the
        cash (cents) each account received.
        """
        pos = self.options[:, contract].copy()
        # in Python ints first: an int64 product or sum would wrap round in silence
        exact = pos.astype(object) * to_cents(payoff * self.multiplier)
        after = self.cash.astype(object) + exact
        if len(after) and not _fits_int64(min(after), max(after)):
            raise LedgerOverflowError(
                f"the expiry of contract {contract} at {payoff} leaves the ledger's 64-bit range"
            )
        flows = exact.astype(np.int64)
        self.cash += flows
        self.options[:, contract] = 0
        return flows

    # -- checks
    def residuals(self) -> dict[str, float]:
        """Differences from the conserved totals: cash (currency), shares, option contracts."""
        # summed as Python ints: the totals of accounts that each fit 64 bits need not
        return {
            "cash": (sum(self.cash.tolist()) - self._cash0) / 100.0,
            "shares": sum(self.shares.tolist()) - self._shares0,
            "options": int(np.abs(self.options.sum(axis=0)).sum()) if self.options.size else 0,
        }

    def check(self) -> dict[str, float]:
        """The residuals, raising :class:`ConservationError` if any is non-zero."""
        res = self.residuals()
        if any(v != 0 for v in res.values()):
            raise ConservationError(f"ledger not conserved: residuals {res}")
        return res

    def value(
        self,
        account: int | NDArray[np.int64],
        price: float,
        option_values: NDArray[np.float64] | None = None,
    ) -> float | NDArray[np.float64]:
        """Mark-to-market value in currency of an account (or array of accounts)."""
        v = self.cash[account] / 100.0 + self.shares[account] * price
        if option_values is not None and self.options.shape[1]:
            v = v + self.options[account] @ option_values * self.multiplier
        return v


class FillListener(Protocol):
    """An account holder told of every print against its orders (``price`` in ticks; ``side`` is
    the holder's, +1 bought; ``aggressor`` True when its order took liquidity)."""

    def on_fill(self, order_id: int, side: int, qty: int, price: int, aggressor: bool) -> None: ...


class TradeRecorder(Protocol):
    """Where option trades are recorded for open interest (an :class:`OptionChain`)."""

    def record_trade(self, contract: int, qty: int, buyer: Hashable, seller: Hashable) -> None: ...


class Clearing:
    """Settles every print into ``ledger`` and keeps the flow figures per group of accounts.

    ``group_of[account]`` is the account's group index in ``[0, n_groups)`` (the last group
    collects accounts outside every named group). ``clock()`` is the current clock time in
    seconds; ``cents_per_tick`` converts book prices to cash. ``listeners`` are told of the fills
    against their own account. ``options`` records option trades for open interest.

    Figures (shares, or contracts for options):
    ``volume[g]`` shares group ``g`` traded on either side, ``net[g]`` its net shares bought,
    ``flow_matrices[w][seller group, buyer group]`` shares per ``flow_window`` seconds window
    ``w``, ``option_volume`` contracts traded.
    """

    def __init__(
        self,
        ledger: Ledger,
        group_of: np.ndarray,
        n_groups: int,
        *,
        cents_per_tick: int,
        clock: Callable[[], float],
        listeners: Mapping[int, FillListener],
        options: TradeRecorder,
        flow_window: float = 1800.0,
    ) -> None:
        if cents_per_tick < 1:
            raise ValueError(
                f"cents_per_tick must be >= 1 (a tick is a whole number of cents), "
                f"got {cents_per_tick}"
            )
        self.ledger = ledger
        self.group_of = group_of
        self.n_groups = int(n_groups)
        self.cents_per_tick = int(cents_per_tick)
        self.clock = clock
        self.listeners = dict(listeners)
        self.options = options
        self.flow_window = float(flow_window)
        self.volume = np.zeros(self.n_groups, dtype=np.int64)
        self.net = np.zeros(self.n_groups, dtype=np.int64)
        self.flow_matrices: dict[int, np.ndarray] = {}
        self.option_volume = 0

    def settle_trade(self, tr: Trade) -> None:
        """Settle one underlying print: cash and shares, flow figures, then the owners' fills."""
        if tr.aggressor_side > 0:
            buyer, seller = tr.aggressor_owner, tr.resting_owner
        else:
            buyer, seller = tr.resting_owner, tr.aggressor_owner
        self.ledger.settle_trade(buyer, seller, tr.qty, tr.price * self.cents_per_tick)
        self._count_flow(buyer, seller, tr.qty)
        listeners = self.listeners
        if tr.aggressor_owner in listeners:
            listeners[tr.aggressor_owner].on_fill(
                tr.aggressor_id, tr.aggressor_side, tr.qty, tr.price, True
            )
        if tr.resting_owner in listeners:
            listeners[tr.resting_owner].on_fill(
                tr.resting_id, -tr.aggressor_side, tr.qty, tr.price, False
            )

    def _count_flow(self, buyer: int, seller: int, qty: int) -> None:
        gb, gs = self.group_of[buyer], self.group_of[seller]
        self.volume[gb] += qty
        self.volume[gs] += qty
        self.net[gb] += qty
        self.net[gs] -= qty
        w = int(self.clock() // self.flow_window)
        mat = self.flow_matrices.get(w)
        if mat is None:
            mat = self.flow_matrices[w] = np.zeros((self.n_groups,) * 2, dtype=np.int64)
        mat[gs, gb] += qty

    def settle_option(
        self, buyer: int, seller: int, contract: int, qty: int, premium: float
    ) -> None:
        """Settle ``qty`` contracts of ``contract`` sold by ``seller`` to ``buyer`` at ``premium``
        (currency per share): cash and positions, then open interest."""
        self.ledger.settle_option(buyer, seller, contract, qty, premium)
        self.options.record_trade(contract, qty, buyer=buyer, seller=seller)
        self.option_volume += qty
