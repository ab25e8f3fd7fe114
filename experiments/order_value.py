"""The largest order a config may let a population send, checked against the ledger's width.

The ledger (:mod:`market.exchange.clearing`) keeps cash in 64-bit integer cents, at most
``2**63 - 1`` cents (about 9.2e16 currency) per account, and stops a run with
``LedgerOverflowError`` rather than wrap. One trade moves its price in cents times its quantity
(an option trade its premium times the contract multiplier times the contracts), so a population
that may send an order of ``q`` shares into a market priced ``p`` can move ``p * q`` in one print.
A config whose largest order is worth more than :data:`MAX_ORDER_VALUE` at ``market.initial_price``
is refused before any work, naming the fields, their product and the bound.

Price headroom. No rule caps a rise (circuit breakers halt on declines only, and the
limit-up/limit-down bands move with the price), so the bound assumes a documented multiple:
:data:`MAX_ORDER_VALUE` is 1e15 currency, the largest endowment and what a parent order of its
largest size (1e9 shares) is worth at the largest initial price (1e6), and one trade of that
value still fits an account's cash until the price has risen :data:`PRICE_HEADROOM` (about 92)
times over its initial value. A run that goes further still stops with the ledger's error.

Sizes whose own range keeps them inside the bound are capped where they are declared (the desk's
child and the insurers' order at 1e9 shares, like the parent order; the leveraged ETFs' assets at
1e12): only the sizes that are products of two fields, or that only an expensive underlying makes
too large, are checked here.
"""

from __future__ import annotations

import math
from typing import Any

from market.validation import ConfigError

#: the largest balance of an account in the ledger, in cents (int64)
LEDGER_MAX_CENTS = 2**63 - 1
#: the largest value of one order at ``market.initial_price``, in currency
MAX_ORDER_VALUE = 1e15
#: how many times over its initial value the price may rise before one trade of an order worth
#: :data:`MAX_ORDER_VALUE` no longer fits the ledger (about 92)
PRICE_HEADROOM = LEDGER_MAX_CENTS / (MAX_ORDER_VALUE * 100)


def largest_orders(cfg: Any) -> list[tuple[str, float]]:
    """``(fields, shares)`` for each population of ``cfg`` whose largest order is a product of
    fields: ``fields`` names them as ``a x b``, ``shares`` is the largest order in shares (an
    option trade in contracts times the multiplier). Populations that send nothing are left out.
    ``cfg`` is a :class:`~experiments.config.RunConfig` (not imported: it imports this module)."""
    agents, mult = cfg.agents, cfg.market.chain.multiplier
    out: list[tuple[str, float]] = []
    bg, latent = agents.background, agents.latent
    if bg.n > 0:
        out.append(
            ("agents.background.max_lots x agents.background.lot_size", bg.max_lots * bg.lot_size)
        )
    if latent.enabled:
        out.append(
            (
                "agents.latent.order_lots x agents.latent.lot_size",
                latent.order_lots * latent.lot_size,
            )
        )
    cu, de = agents.customers, agents.dealers
    if cu.n > 0:
        # a frenzy trade is the usual size times the multiplier, rounded up
        largest = math.ceil(cu.contracts_max * cu.frenzy_size_multiplier)
        out.append(
            (
                "agents.customers.contracts_max x agents.customers.frenzy_size_multiplier x "
                "market.chain.multiplier",
                largest * mult,
            )
        )
    if de.n > 0 and cu.n > 0:  # the customers execute the dealers' opening book
        out.append(
            (
                "agents.dealers.initial_book_contracts x market.chain.multiplier",
                de.initial_book_contracts * mult,
            )
        )
    return out


def check_order_values(cfg: Any) -> None:
    """Raise :class:`ConfigError` if a population's largest order is worth more than
    :data:`MAX_ORDER_VALUE` at ``market.initial_price``, naming the fields, their product and
    the bound (an option's premium is counted at the underlying's price, which bounds a call's
    premium; the same headroom covers a put's strike)."""
    price = cfg.market.initial_price
    for fields, shares in largest_orders(cfg):
        value = shares * price
        if value > MAX_ORDER_VALUE:
            raise ConfigError(
                f"{fields} = {shares:.4g} shares at market.initial_price {price:g} is an order "
                f"worth {value:.4g} currency; at most {MAX_ORDER_VALUE:.0e} (one trade of it must "
                f"fit the ledger's 64-bit integer cents after the price rises up to "
                f"{PRICE_HEADROOM:.0f}-fold): lower one of them"
            )
