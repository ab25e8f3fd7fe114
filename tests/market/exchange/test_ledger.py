"""The ledger's settlement checks: whole positive quantities, exact totals, no silent wrap-round."""

from __future__ import annotations

import numpy as np
import pytest

from market.exchange.clearing import Ledger, LedgerOverflowError


def ledger_with_cash(n: int = 3, cash: float = 1_000.0, shares: int = 100) -> Ledger:
    led = Ledger(n)
    for a in range(n):
        led.endow(a, cash=cash, shares=shares)
    return led


def test_settle_trade_moves_shares_to_the_buyer_and_cash_to_the_seller():
    led = ledger_with_cash()
    led.settle_trade(buyer=1, seller=2, qty=10, price_cents=250)
    assert led.shares.tolist() == [100, 110, 90]
    assert led.cash.tolist() == [100_000, 97_500, 102_500]
    assert led.check() == {"cash": 0.0, "shares": 0, "options": 0}


@pytest.mark.parametrize("qty", [-5, 0, 2.5, 3.0, True, np.float64(4.0)])
def test_settle_trade_refuses_quantities_that_are_not_whole_and_positive(qty):
    led = ledger_with_cash()
    before = (led.cash.copy(), led.shares.copy())
    with pytest.raises(ValueError, match="whole number of shares > 0"):
        led.settle_trade(1, 2, qty, 100)
    # nothing moved
    np.testing.assert_array_equal(led.cash, before[0])
    np.testing.assert_array_equal(led.shares, before[1])


@pytest.mark.parametrize("price", [-1, 1.5, None])
def test_settle_trade_refuses_prices_that_are_not_whole_cents(price):
    with pytest.raises(ValueError, match="whole cents"):
        ledger_with_cash().settle_trade(1, 2, 10, price)


def test_settle_trade_accepts_numpy_integers():
    led = ledger_with_cash()
    led.settle_trade(1, 2, np.int64(3), np.int64(100))
    assert led.shares[1] == 103


def test_an_account_trading_with_itself_keeps_its_balances():
    led = ledger_with_cash()
    led.settle_trade(1, 1, 10, 100)
    assert led.cash[1] == 100_000 and led.shares[1] == 100
    assert led.n_transfers == 1


def test_totals_beyond_64_bits_are_summed_exactly():
    """1,000 accounts of 1e15 currency each: every balance fits int64 but their sum of 1e20
    cents does not; the residuals must still be exactly zero."""
    led = ledger_with_cash(n=1_000, cash=1e15)
    assert led.residuals()["cash"] == 0.0
    led.settle_trade(3, 4, 10, 10_000)
    assert led.check()["cash"] == 0.0


def test_a_transfer_that_would_wrap_round_is_refused():
    led = ledger_with_cash(cash=9e16)  # 9e18 cents, near the int64 limit
    with pytest.raises(LedgerOverflowError, match="64-bit range"):
        led.settle_trade(buyer=1, seller=2, qty=10**6, price_cents=10**12)
    assert led.cash[2] == 9 * 10**18  # the seller was not paid a wrapped amount


def test_an_expiry_that_would_wrap_round_is_refused():
    led = Ledger(2, n_contracts=1, multiplier=100)
    led.endow(0, cash=9e16)
    led.options[0, 0], led.options[1, 0] = 10**6, -(10**6)
    with pytest.raises(LedgerOverflowError, match="expiry"):
        led.settle_expiry(0, payoff=1e12)
    assert led.options[0, 0] == 10**6  # positions kept: nothing was settled
