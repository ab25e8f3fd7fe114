"""Dealers taking resting orders of others left stale by the underlying (book mode)."""

from __future__ import annotations

from tests.agents.test_dealer_quoting import book_model
from tests.agents.test_dealers import contract


def rest_a_bid_then_drop_the_underlying(**options: object):
    """One dealer quoting; a customer's bid resting one tick under the dealer's ask in an
    at-the-money call; then the underlying falls 1% and the quote pass runs."""
    m = book_model(n_dealers=1, **options)
    om = m.option_market
    om.quote_pass()
    (dealer,) = m.populations["dealers"]
    (customer,) = m.populations["customers"]
    c = contract(m, 100.0, 4, True)
    _, ask = om.venue.quote_ids(dealer.account, c)
    ask_px = om.venue._series[c].book.order_record(ask).price
    oid = om.venue.limit(customer.account, c, 1, ask_px - 1, 5)
    assert om.venue.view(c).remaining(oid) == 5  # it rests
    m.scripted_book.set(99.0)
    om.quote_pass()
    return m, om, dealer, customer, c, oid, ask_px - 1


def test_a_dealer_takes_a_customers_bid_the_underlying_left_through_its_ask() -> None:
    m, om, dealer, customer, c, oid, price = rest_a_bid_then_drop_the_underlying()
    took = [p for p in om.prints if p.contract == c]
    assert len(took) == 1
    (p,) = took
    assert (p.buyer, p.seller, p.price, p.qty) == (customer.account, dealer.account, price, 5)
    assert om.venue.view(c).remaining(oid) == 0
    assert m.ledger.options[dealer.account][c] == -5  # it sold what the customer bid for
    assert om.stale_orders.summary() == {
        "orders": 1,
        "contracts": 5,
        "by_dealer": {str(dealer.account): 5},
    }
    # its theo is now far below the price it sold at: the customer paid for staying put
    assert om.last_marks.theo[c] < price * om.tick - 0.2


def test_no_taking_when_switched_off_or_the_order_is_within_the_edge() -> None:
    _, om, _, _, c, oid, _ = rest_a_bid_then_drop_the_underlying(dealers_take_stale=False)
    assert om.stale_orders is None and om.prints == []
    assert om.venue.view(c).remaining(oid) == 5
    _, om, _, _, c, oid, _ = rest_a_bid_then_drop_the_underlying(dealer_take_edge_ticks=10_000)
    assert om.prints == [] and om.stale_orders.orders == 0
    assert om.venue.view(c).remaining(oid) == 5


def test_dealers_never_take_one_anothers_quotes() -> None:
    m = book_model(n_dealers=2)
    om = m.option_market
    first = next(iter(om.quoters.values()))
    live = m.chain.live(m.now) & om._listed
    first.quote_pass(om.venue, om.marks(live), live, m.now, 1.0)
    m.scripted_book.set(97.0)  # the first dealer's quotes are now far through the theos
    marks = om.marks(live)
    stale = om.stale_orders.candidates(marks, live)
    assert len(stale) > 5
    om.stale_orders.run(marks, live, 1.0, None)
    assert om.prints == [] and om.stale_orders.orders == 0
