"""The complex order book: strategies, the derived quote, leg-price allocation and every route,
against real leg order books (:mod:`tests.market.exchange.fake_leg_venue`)."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.exchange.complex_book import (
    BUY,
    SELL,
    ComplexOrderBook,
    ComplexOrderError,
    LegInError,
    PackageQuote,
    Strategy,
    split_pro_rata,
)
from market.exchange.leg_allocation import (
    SEARCH_TICKS,
    DerivedBBO,
    LegTop,
    allocate_leg_prices,
    net_quote,
)
from tests.market.exchange.fake_leg_venue import FakeLegVenue

MAKER = 100  # the owner of the resting leg orders


def make_book(
    contracts: tuple[int, ...] = (1, 2, 3), seed: int = 0, **kw: object
) -> tuple[FakeLegVenue, ComplexOrderBook]:
    venue = FakeLegVenue(list(contracts))
    cob = ComplexOrderBook(venue, np.random.default_rng(seed), **kw)  # type: ignore[arg-type]
    venue.on_top_changed = cob.on_leg_top_changed
    return venue, cob


def quote_leg(venue: FakeLegVenue, contract: int, bid: int, ask: int, size: int = 10) -> None:
    venue.limit(MAKER, contract, BUY, bid, size)
    venue.limit(MAKER, contract, SELL, ask, size)


VERTICAL = Strategy([(1, 1), (2, -1)])


# ---- strategies ------------------------------------------------------------------------------


def test_strategy_normalises_order_gcd_and_sign() -> None:
    s, sign = Strategy.oriented([(7, -4), (3, 2)])
    assert s.legs == ((3, 1), (7, -2))
    assert sign == 1
    r, sign = Strategy.oriented([(3, -2), (7, 4)])
    assert r == s and sign == -1
    assert hash(r) == hash(s)
    assert len({s, r, Strategy([(3, 1), (7, -2)])}) == 1
    assert Strategy([(2, 1), (1, 1)]) != Strategy([(1, 1), (2, -1)])
    assert s.contracts == (3, 7) and s.ratios == (1, -2)


@pytest.mark.parametrize(
    ("legs", "field"),
    [
        ([(1, 1)], "legs"),
        ([(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)], "legs"),
        ([(1, 1), (2, 0)], "ratio"),
        ([(1, 1), (2, 4)], "ratio"),
        ([(1, 3), (2, -1), (3, 4)], "ratio"),
        ([(1, 1), (1, -1)], "distinct"),
        ([(1.5, 1), (2, 1)], "contract"),
        ([(1, True), (2, 1)], "ratio"),
        ([(-1, 1), (2, 1)], "contract"),
        ([(1, 1, 1), (2, 1)], "pair"),
    ],
)
def test_strategy_refuses_bad_legs_naming_the_field(legs: list, field: str) -> None:
    with pytest.raises(ComplexOrderError, match=field):
        Strategy(legs)


def test_strategy_ratio_limits_apply_after_normalisation() -> None:
    assert Strategy([(1, 2), (2, -6)]).ratios == (1, -3)
    assert Strategy([(1, 3), (2, 3), (3, -1)]).ratios == (3, 3, -1)


# ---- derived quote ---------------------------------------------------------------------------


def test_derived_quote_of_a_vertical() -> None:
    tops = [LegTop(100, 10, 102, 5), LegTop(50, 8, 53, 4)]
    assert net_quote((1, -1), tops) == DerivedBBO(100 - 53, 4, 102 - 50, 5)


def test_derived_quote_of_a_ratio_spread() -> None:
    tops = [LegTop(100, 10, 102, 5), LegTop(50, 8, 53, 5)]
    # buy 1 at 102, sell 2 at 50: 2 net, 8 // 2 = 4 packages; sell 1 at 100, buy 2 at 53
    assert net_quote((1, -2), tops) == DerivedBBO(100 - 106, 2, 102 - 100, 4)


def test_derived_quote_can_be_negative_and_one_sided() -> None:
    tops = [LegTop(20, 3, 22, 3), LegTop(60, 9, 63, 9)]
    assert net_quote((1, -1), tops) == DerivedBBO(-43, 3, -38, 3)
    no_ask = [LegTop(20, 3, None, 0), LegTop(60, 9, 63, 9)]
    assert net_quote((1, -1), no_ask) == DerivedBBO(-43, 3, None, 0)
    assert net_quote((1, 1), no_ask) == DerivedBBO(80, 3, None, 0)


def test_derived_bbo_reads_the_leg_books() -> None:
    venue, cob = make_book()
    quote_leg(venue, 1, 100, 102, 6)
    quote_leg(venue, 2, 50, 53, 3)
    venue.limit(MAKER, 2, BUY, 50, 5)
    assert cob.derived_bbo(VERTICAL) == DerivedBBO(47, 3, 52, 6)
    assert cob.derived_bbo(Strategy([(1, 1), (3, 1)])) == DerivedBBO(None, 0, None, 0)


# ---- allocation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratios", "bids", "asks", "net"),
    [
        ((1, -1), (100, 50), (102, 53), 50),
        ((1, -1), (100, 50), (102, 53), 47),
        ((1, -1), (100, 50), (102, 53), 52),
        ((1, -2), (100, 50), (102, 53), -3),
        ((1, -1), (20, 60), (22, 63), -40),
        ((3, -1, 2), (10, 40, 7), (13, 44, 9), 3 * 11 - 42 + 2 * 8 + 1),
        ((1, 2, -3, 1), (5, 9, 4, 30), (8, 11, 6, 33), 5 + 18 - 15 + 31),
    ],
)
def test_allocation_settles_the_net_price_inside_the_bbo(
    ratios: tuple[int, ...], bids: tuple[int, ...], asks: tuple[int, ...], net: int
) -> None:
    prices = allocate_leg_prices(ratios, bids, asks, net)
    assert prices is not None
    assert sum(r * p for r, p in zip(ratios, prices, strict=True)) == net
    assert all(b <= p <= a for p, b, a in zip(prices, bids, asks, strict=True))


def test_allocation_starts_from_the_mids() -> None:
    assert allocate_leg_prices((1, -1), (100, 50), (102, 54), 49) == (101, 52)


def test_allocation_never_prices_a_leg_at_zero() -> None:
    prices = allocate_leg_prices((1, -1), (0, 5), (4, 8), -5)
    assert prices is not None and min(prices) >= 1 and prices[0] - prices[1] == -5
    assert allocate_leg_prices((1, -1), (0, 5), (4, 8), -8) is None


def test_allocation_fails_where_the_ratios_cannot_reach_the_price() -> None:
    # 2a + 3b over a, b in {10, 11} gives 50, 52, 53, 55 only
    assert allocate_leg_prices((2, 3), (10, 10), (11, 11), 51) is None
    assert allocate_leg_prices((2, 3), (10, 10), (11, 11), 54) is None
    assert allocate_leg_prices((2, 3), (10, 10), (11, 11), 53) == (10, 11)
    assert allocate_leg_prices((1, -1), (100, 50), (102, 53), 53) is None
    assert allocate_leg_prices((1, -1), (100, None), (102, 53), 50) is None


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([-3, -2, -1, 1, 2, 3]), st.integers(0, 30), st.integers(0, SEARCH_TICKS)
        ),
        min_size=2,
        max_size=4,
    ),
    st.integers(-200, 200),
)
def test_allocation_finds_a_split_whenever_one_exists(
    legs: list[tuple[int, int, int]], net: int
) -> None:
    """Against every split, for legs narrow enough that the bounded search covers them."""
    ratios = [r for r, _, _ in legs]
    bids = [b for _, b, _ in legs]
    asks = [b + w for _, b, w in legs]
    ranges = [range(max(b, 1), a + 1) for b, a in zip(bids, asks, strict=True)]
    exists = any(
        sum(r * p for r, p in zip(ratios, ps, strict=True)) == net for ps in product(*ranges)
    )
    prices = allocate_leg_prices(ratios, bids, asks, net)
    assert (prices is not None) == exists
    if prices is not None:
        assert sum(r * p for r, p in zip(ratios, prices, strict=True)) == net
        assert all(max(b, 1) <= p <= a for p, b, a in zip(prices, bids, asks, strict=True))


def test_pro_rata_split_shares_in_proportion_and_hands_out_the_rest() -> None:
    rng = np.random.default_rng(3)
    assert split_pro_rata([4, 6], 20, rng) == [4, 6]
    shares = split_pro_rata([3, 3, 3], 7, rng)
    assert sum(shares) == 7 and sorted(shares) == [2, 2, 3]
    draws = {tuple(split_pro_rata([1, 1, 1], 1, rng)) for _ in range(40)}
    assert draws == {(1, 0, 0), (0, 1, 0), (0, 0, 1)}


# ---- routes ----------------------------------------------------------------------------------


def responder_quoting(*quotes: PackageQuote):  # type: ignore[no-untyped-def]
    asked = []

    def respond(strategy, side, qty, bbo):  # type: ignore[no-untyped-def]
        asked.append((strategy, side, qty, bbo))
        return list(quotes)

    respond.asked = asked  # type: ignore[attr-defined]
    return respond


def package_prints(venue: FakeLegVenue, package_id: int) -> list:
    return [p for p in venue.prints if p.package_id == package_id]


def test_auction_fills_best_price_first_then_pro_rata() -> None:
    venue, cob = make_book()
    quote_leg(venue, 1, 100, 102)
    quote_leg(venue, 2, 50, 53)
    first = responder_quoting(PackageQuote(7, 51, 2), PackageQuote(8, 50, 3))
    cob.add_responder(first)
    cob.add_responder(responder_quoting(PackageQuote(9, 50, 3), PackageQuote(10, 53, 9)))
    result = cob.submit(1, VERTICAL, BUY, 52, 6, tif="ioc")
    assert result is not None and result.filled == 6 and result.order_id is None
    assert first.asked == [(VERTICAL, BUY, 6, DerivedBBO(47, 10, 52, 10))]
    # 50 offers 6 between owners 8 and 9 (3 each) and fills all: 51 is not needed; 53 beyond limit
    assert [(t.seller, t.qty, t.net_price, t.route) for t in cob.packages] == [
        (8, 3, 50, "coa"),
        (9, 3, 50, "coa"),
    ]
    assert cob.packages_by_route == {"coa": 6, "contra": 0, "legged": 0}
    for trade in cob.packages:
        legs = package_prints(venue, trade.package_id)
        assert [(p.contract, p.buyer, p.seller, p.qty) for p in legs] == [
            (1, 1, trade.seller, 3),
            (2, trade.seller, 1, 3),
        ]
        assert [p.seq for p in legs] == [trade.seq + 1, trade.seq + 2]
        assert legs[0].price - legs[1].price == 50


def test_auction_ties_split_pro_rata_with_seeded_remainders() -> None:
    def run(seed: int) -> list[tuple[int, int]]:
        venue, cob = make_book(seed=seed)
        quote_leg(venue, 1, 100, 102)
        quote_leg(venue, 2, 50, 53)
        cob.add_responder(responder_quoting(*(PackageQuote(o, 50, 4) for o in (7, 8, 9))))
        cob.submit(1, VERTICAL, BUY, 52, 10, tif="ioc")
        return [(t.seller, t.qty) for t in cob.packages]

    fills = run(11)
    assert sum(q for _, q in fills) == 10 and sorted(q for _, q in fills) == [3, 3, 4]
    assert fills == run(11)
    assert len({tuple(run(s)) for s in range(12)}) > 1


def test_auction_needs_a_near_marketable_order_and_prices_inside_the_legs() -> None:
    venue, cob = make_book(coa_buffer_ticks=2)
    quote_leg(venue, 1, 100, 102)
    quote_leg(venue, 2, 50, 53)
    responder = responder_quoting(PackageQuote(7, 47, 5), PackageQuote(8, 46, 5))
    cob.add_responder(responder)
    assert cob.submit(1, VERTICAL, BUY, 49, 1, tif="ioc") == (0, None, venue.seq)
    assert responder.asked == []  # 49 is 3 ticks short of the derived ask 52
    # 50 is within the buffer: the offer at 47 sits on the derived bid and trades, the one at 46
    # (below every leg split) cannot
    result = cob.submit(1, VERTICAL, BUY, 50, 10, tif="ioc")
    assert result is not None and result.filled == 5
    assert [(t.seller, t.net_price) for t in cob.packages] == [(7, 47)]
    assert cob.n_no_allocation == 1
    assert [p.price for p in package_prints(venue, 1)] == [100, 53]


def test_contra_orders_trade_price_then_time_at_the_resting_price() -> None:
    venue, cob = make_book()
    quote_leg(venue, 1, 100, 102)
    quote_leg(venue, 2, 50, 53)
    late = cob.submit(5, VERTICAL, SELL, 49, 2)
    early_worse = cob.submit(6, VERTICAL, SELL, 50, 2)
    assert late is not None and early_worse is not None and late.order_id is not None
    assert cob.resting_orders(VERTICAL, SELL) == [(late.order_id, 49, 2), (2, 50, 2)]
    later_same = cob.submit(7, VERTICAL, SELL, 49, 2)
    assert later_same is not None
    result = cob.submit(1, VERTICAL, BUY, 50, 5)
    assert result == (5, None, venue.seq - 3 * 3)
    assert [(t.seller, t.qty, t.net_price, t.route) for t in cob.packages] == [
        (5, 2, 49, "contra"),
        (7, 2, 49, "contra"),
        (6, 1, 50, "contra"),
    ]
    assert cob.remaining(2) == 1 and cob.filled(2) == 1 and cob.remaining(late.order_id) == 0
    assert venue.n_ioc == 0


def test_contra_trades_move_inside_the_derived_quote() -> None:
    venue, cob = make_book()
    quote_leg(venue, 1, 100, 102, 10)
    quote_leg(venue, 2, 50, 53, 3)
    # a sell at 45 is below the derived bid 47, but leg 2 offers only 3 of 5: it rests
    resting = cob.submit(5, VERTICAL, SELL, 45, 5)
    assert resting is not None and resting.order_id is not None and venue.prints == []
    result = cob.submit(1, VERTICAL, BUY, 50, 5)
    assert result is not None and result.filled == 5
    # no leg split reaches 45: the package trades at the nearest derived price, 47
    assert [(t.seller, t.qty, t.net_price) for t in cob.packages] == [(5, 5, 47)]
    assert cob.packages[0].leg_prices == (100, 53)


def test_leg_in_fills_every_leg_at_once_within_the_limit() -> None:
    venue, cob = make_book(leg_in_levels=2)
    quote_leg(venue, 1, 100, 102, 4)
    venue.limit(MAKER, 1, SELL, 103, 4)
    quote_leg(venue, 2, 50, 53, 20)
    # 6 packages: buy 6 of leg 1 (4 at 102, 2 at 103), sell 12 of leg 2 at 50
    strategy = Strategy([(1, 1), (2, -2)])
    assert cob.submit(1, strategy, BUY, 2, 6, tif="ioc") == (0, None, venue.seq)
    assert venue.n_ioc == 0  # 103 - 100 = 3 > 2 at the worst levels: nothing sent
    result = cob.submit(1, strategy, BUY, 3, 6, tif="ioc")
    assert result is not None and result.filled == 6
    mine = [
        (p.contract, p.price, p.qty, p.buyer == 1) for p in venue.prints if 1 in (p.buyer, p.seller)
    ]
    assert mine == [(1, 102, 4, True), (1, 103, 2, True), (2, 50, 12, False)]
    assert cob.packages_by_route["legged"] == 6 and cob.packages == []


def test_leg_in_is_all_or_nothing() -> None:
    venue, cob = make_book()
    quote_leg(venue, 1, 100, 102, 10)
    quote_leg(venue, 2, 50, 53, 3)
    result = cob.submit(1, VERTICAL, BUY, 60, 4)
    assert result is not None and result.filled == 0 and result.order_id is not None
    assert venue.prints == [] and venue.n_ioc == 0
    assert cob.resting_orders(VERTICAL, BUY) == [(result.order_id, 60, 4)]


def test_resting_order_legs_in_when_a_leg_top_changes() -> None:
    venue, cob = make_book()
    quote_leg(venue, 1, 100, 102, 10)
    quote_leg(venue, 2, 50, 53, 3)
    result = cob.submit(1, VERTICAL, BUY, 52, 4)
    assert result is not None and result.order_id is not None
    venue.limit(MAKER, 2, BUY, 51, 4)  # the leg-2 bid improves: 102 - 51 = 51 <= 52
    assert cob.remaining(result.order_id) == 0 and cob.filled(result.order_id) == 4
    assert cob.resting_orders(VERTICAL, BUY) == []
    assert cob.packages_by_route["legged"] == 4
    assert venue.views[2].best_bid == 50  # 4 sold into the new 51 bid


def test_crossed_resting_orders_trade_once_the_legs_allow_a_split() -> None:
    venue, cob = make_book()
    quote_leg(venue, 1, 100, 102)
    venue.limit(MAKER, 2, BUY, 50, 10)  # leg 2 has no offer: no leg prices, no package trade
    bid = cob.submit(1, VERTICAL, BUY, 51, 3)
    ask = cob.submit(2, VERTICAL, SELL, 49, 2)
    assert bid is not None and ask is not None and cob.packages == []
    assert cob.n_no_allocation == 1
    venue.limit(MAKER, 2, SELL, 53, 10)
    assert [(t.buyer, t.seller, t.qty, t.net_price) for t in cob.packages] == [(1, 2, 2, 51)]
    assert cob.resting_orders(VERTICAL, BUY) == [(bid.order_id, 51, 1)]
    assert cob.resting_orders(VERTICAL, SELL) == []


def test_ioc_remainder_is_cancelled_and_day_orders_cancel() -> None:
    venue, cob = make_book()
    quote_leg(venue, 1, 100, 102)
    quote_leg(venue, 2, 50, 53)
    ioc = cob.submit(1, VERTICAL, BUY, 40, 3, tif="ioc")
    assert ioc is not None and ioc.order_id is None and cob.remaining(1) == 0
    assert cob.resting_orders(VERTICAL, BUY) == []
    day = cob.submit(1, VERTICAL, BUY, 40, 3)
    assert day is not None and day.order_id == 2
    assert cob.cancel(2) == 3 and cob.cancel(2) == 0 and cob.filled(2) == 0
    assert cob.resting_orders(VERTICAL, BUY) == []
    with pytest.raises(ComplexOrderError, match="unknown complex order id 9"):
        cob.cancel(9)


def test_halted_venue_refuses_orders_and_checks_nothing() -> None:
    venue, cob = make_book()
    quote_leg(venue, 1, 100, 102)
    quote_leg(venue, 2, 50, 53)
    resting = cob.submit(1, VERTICAL, BUY, 50, 2)
    assert resting is not None and resting.order_id is not None
    venue.halt()
    seq = venue.seq
    assert cob.submit(1, VERTICAL, BUY, 60, 2) is None
    assert cob.refusals == {"halted": 1, "leg_halted": 0} and venue.seq == seq
    venue.limit(MAKER, 2, BUY, 52, 5)  # held while halted; the re-check is skipped
    assert cob.remaining(resting.order_id) == 2
    venue.books[2].reopen()
    venue._halted = False
    venue.books[1].halt("one leg")
    assert cob.submit(1, VERTICAL, BUY, 60, 2) is None
    assert cob.refusals == {"halted": 1, "leg_halted": 1}


def test_a_leg_that_fills_short_raises() -> None:
    class ShortVenue(FakeLegVenue):
        def ioc(self, owner: int, contract: int, side: int, price: int, qty: int) -> int | None:
            return qty - 1

    venue = ShortVenue([1, 2])
    cob = ComplexOrderBook(venue, np.random.default_rng(0))
    quote_leg(venue, 1, 100, 102)
    quote_leg(venue, 2, 50, 53)
    with pytest.raises(LegInError, match="filled 1 of 2"):
        cob.submit(1, VERTICAL, BUY, 60, 2)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((-1, VERTICAL, BUY, 50, 1), "owner"),
        ((1, [(1, 1), (2, -1)], BUY, 50, 1), "strategy"),
        ((1, VERTICAL, 0, 50, 1), "side"),
        ((1, VERTICAL, 2, 50, 1), "side"),
        ((1, VERTICAL, True, 50, 1), "side"),
        ((1, VERTICAL, BUY, 50.5, 1), "net_limit"),
        ((1, VERTICAL, BUY, 50, 0), "qty"),
        ((1, VERTICAL, BUY, 50, 1, "gtc"), "tif"),
    ],
)
def test_bad_orders_raise_naming_the_argument_and_change_nothing(args: tuple, field: str) -> None:
    venue, cob = make_book()
    quote_leg(venue, 1, 100, 102)
    seq = venue.seq
    with pytest.raises(ComplexOrderError, match=field):
        cob.submit(*args)
    assert venue.seq == seq and cob.resting_orders(VERTICAL, BUY) == []


def test_bad_responder_quotes_and_settings_raise() -> None:
    venue, cob = make_book()
    quote_leg(venue, 1, 100, 102)
    quote_leg(venue, 2, 50, 53)
    cob.add_responder(responder_quoting(PackageQuote(7, 50, 0)))
    with pytest.raises(ComplexOrderError, match="quote qty"):
        cob.submit(1, VERTICAL, BUY, 52, 1)
    with pytest.raises(ComplexOrderError, match="coa_buffer_ticks"):
        ComplexOrderBook(venue, np.random.default_rng(0), coa_buffer_ticks=-1)
    with pytest.raises(ComplexOrderError, match="rng"):
        ComplexOrderBook(venue, 0)  # type: ignore[arg-type]
    with pytest.raises(ComplexOrderError, match="responder"):
        cob.add_responder(3)  # type: ignore[arg-type]


def test_implied_quotes_never_post_into_the_leg_books() -> None:
    """A resting complex order adds nothing to its legs' books, so two complex orders on
    different strategies sharing a leg cannot meet through implied quotes."""
    venue, cob = make_book()
    quote_leg(venue, 1, 100, 102)
    quote_leg(venue, 2, 50, 53)
    quote_leg(venue, 3, 30, 33)
    before = {c: cob.venue.view(c).depth(5) for c in (1, 2, 3)}
    cob.submit(1, Strategy([(1, 1), (2, -1)]), BUY, 49, 5)
    cob.submit(2, Strategy([(1, 1), (3, -1)]), SELL, 72, 5)
    assert {c: cob.venue.view(c).depth(5) for c in (1, 2, 3)} == before
    assert cob.packages == [] and venue.prints == []
