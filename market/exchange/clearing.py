"""One ledger of every participant's cash, shares and option positions.

Units: cash in integer **cents** (so conservation is exact, not approximately so), shares in
shares, options in contracts (each contract covers ``multiplier`` shares). Every movement is a
transfer between exactly two accounts, so the column sums never change: the residuals returned by
:meth:`Ledger.residuals` are zero after any sequence of trades, option sales and expiries.
Account ``0`` is unused by agents (Mesa's ids start at 1) and may serve as the clearing house.
"""

from __future__ import annotations

import numpy as np


class ConservationError(RuntimeError):
    """Raised when cash, shares or option positions do not sum to their starting totals."""


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
        """Shares ``qty`` from seller to buyer; ``qty * price_cents`` from buyer to seller."""
        value = qty * price_cents
        self.cash[buyer] -= value
        self.cash[seller] += value
        self.shares[buyer] += qty
        self.shares[seller] -= qty
        self.n_transfers += 1

    def settle_option(
        self, buyer: int, seller: int, contract: int, qty: int, premium: float
    ) -> int:
        """``qty`` contracts from seller to buyer at ``premium`` per share; returns cents paid."""
        if qty <= 0:
            raise ValueError(f"option qty must be > 0, got {qty}")
        if premium < 0 or not np.isfinite(premium):
            raise ValueError(f"option premium must be finite and >= 0, got {premium}")
        value = to_cents(premium * self.multiplier) * qty
        self.cash[buyer] -= value
        self.cash[seller] += value
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
        flows = pos * (to_cents(payoff * self.multiplier))
        self.cash += flows
        self.options[:, contract] = 0
        return flows

    # -- checks
    def residuals(self) -> dict[str, float]:
        """Differences from the conserved totals: cash (currency), shares, option contracts."""
        return {
            "cash": (int(self.cash.sum()) - self._cash0) / 100.0,
            "shares": int(self.shares.sum()) - self._shares0,
            "options": int(np.abs(self.options.sum(axis=0)).sum()) if self.options.size else 0,
        }

    def check(self) -> dict[str, float]:
        """The residuals, raising :class:`ConservationError` if any is non-zero."""
        res = self.residuals()
        if any(v != 0 for v in res.values()):
            raise ConservationError(f"ledger not conserved: residuals {res}")
        return res

    def value(self, account, price: float, option_values: np.ndarray | None = None):
        """Mark-to-market value in currency of an account (or array of accounts)."""
        v = self.cash[account] / 100.0 + self.shares[account] * price
        if option_values is not None and self.options.shape[1]:
            v = v + self.options[account] @ option_values * self.multiplier
        return v
