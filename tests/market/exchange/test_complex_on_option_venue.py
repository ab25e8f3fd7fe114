"""The complex order book on the real options venue: every route settles through the ledger.

The complex book's own tests run over a small fake venue; these check that :class:`OptionVenue`
keeps the :class:`LegVenue` contract the book relies on (fills returned by ``ioc``, one sequence
number per print and per accepted message, top-of-book notices) and that package trades settle
to the cent.
"""

from __future__ import annotations

import numpy as np

from market.exchange.clearing import Ledger
from market.exchange.complex_book import ComplexOrderBook, PackageQuote, Strategy
from market.exchange.option_venue import OptionPrint, OptionSettlement, OptionVenue
from market.exchange.order_book import BUY, SELL

MAKER, TAKER, DEALER, RESTER = 1, 2, 3, 4
VERTICAL = Strategy([(0, 1), (1, -1)])


def market(coa: bool = False) -> tuple[OptionVenue, ComplexOrderBook, Ledger, list[OptionPrint]]:
    ledger = Ledger(n_accounts=5, n_contracts=2)
    for owner in range(1, 5):
        ledger.endow(owner, cash=1e6)
    prints: list[OptionPrint] = []
    settle = OptionSettlement(ledger)

    def on_trade(p: OptionPrint) -> None:
        settle(p)
        prints.append(p)

    venue = OptionVenue(2, clock=lambda: 0.0, on_trade=on_trade)
    for contract in (0, 1):
        venue.list_series(contract)
    cob = ComplexOrderBook(venue, np.random.default_rng(7), coa=coa)
    venue.add_top_listener(cob.on_leg_top_changed)
    # leg 0: 2.00 / 2.04, leg 1: 1.00 / 1.03, 10 contracts each side
    venue.quote(MAKER, 0, 200, 10, 204, 10)
    venue.quote(MAKER, 1, 100, 10, 103, 10)
    return venue, cob, ledger, prints


def _conserved(ledger: Ledger) -> None:
    assert all(v == 0 for v in ledger.residuals().values())
    assert (ledger.options.sum(axis=0) == 0).all()


def test_leg_in_through_the_real_books_settles_every_leg() -> None:
    venue, cob, ledger, prints = market()
    seq_before = venue.events.last
    result = cob.submit(TAKER, VERTICAL, BUY, 104, 4, tif="ioc")  # 204 - 100 = 104
    assert result is not None and result.filled == 4
    legs = [(p.contract, p.price, p.qty, p.buyer, p.seller) for p in prints]
    assert legs == [(0, 204, 4, TAKER, MAKER), (1, 100, 4, MAKER, TAKER)]
    assert all(p.seq > seq_before for p in prints)
    assert ledger.options[TAKER].tolist() == [4, -4]
    # 4 x (2.04 - 1.00) x 100 paid
    assert ledger.cash[TAKER] == round(1e6 * 100) - 4 * 104 * 100
    _conserved(ledger)


def test_a_resting_package_legs_in_when_the_venue_reports_a_new_top() -> None:
    venue, cob, ledger, prints = market()
    result = cob.submit(TAKER, VERTICAL, BUY, 102, 3)
    assert result is not None and result.order_id is not None and prints == []
    venue.quote(MAKER, 1, 102, 10, 105, 10)  # leg 1's bid rises: 204 - 102 = 102
    assert cob.remaining(result.order_id) == 0 and cob.filled(result.order_id) == 3
    assert ledger.options[TAKER].tolist() == [3, -3]
    _conserved(ledger)


def test_auction_package_prints_its_legs_in_one_seq_range_inside_the_quotes() -> None:
    _, cob, ledger, prints = market(coa=True)
    cob.add_responder(lambda strategy, side, qty, bbo: [PackageQuote(DEALER, 103, qty)])
    result = cob.submit(TAKER, VERTICAL, BUY, 104, 5)
    assert result is not None and result.filled == 5
    (package,) = cob.packages
    assert package.net_price == 103 and package.route == "coa"
    legs = [p for p in prints if p.package_id == package.package_id]
    assert [p.seq for p in legs] == [package.seq + 1, package.seq + 2]
    assert sum(r * p.price for r, p in zip(VERTICAL.ratios, legs, strict=True)) == 103
    tops = [(200, 204), (100, 103)]
    assert all(lo <= p.price <= hi for p, (lo, hi) in zip(legs, tops, strict=True))
    assert ledger.options[DEALER].tolist() == [-5, 5]
    _conserved(ledger)


def test_contra_packages_cross_off_book_and_leave_the_leg_books_alone() -> None:
    venue, cob, ledger, prints = market()
    cob.submit(RESTER, VERTICAL, SELL, 102, 6)
    before = [a.copy() for a in venue.top()]
    result = cob.submit(TAKER, VERTICAL, BUY, 103, 6)
    assert result is not None and result.filled == 6 and cob.packages_by_route["contra"] == 6
    assert all(p.aggressor_side == 0 for p in prints)
    assert all((a == b).all() for a, b in zip(before, venue.top(), strict=True))
    assert ledger.options[RESTER].tolist() == [-6, 6]
    _conserved(ledger)


def test_a_venue_halt_refuses_packages_and_nothing_trades() -> None:
    venue, cob, ledger, prints = market()
    venue.halt_all("underlying halt")
    assert cob.submit(TAKER, VERTICAL, BUY, 200, 4) is None
    assert cob.refusals["halted"] == 1 and prints == []
    _conserved(ledger)
