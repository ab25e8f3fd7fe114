"""Stateful property test of the options venue: random limits, IOCs, quotes, replaces, cancels,
mass cancels, crosses, halts and reopens, listings and delistings over a few series and owners,
interleaved with another book taking numbers from the shared event clock.

Checked after every step: no series crossed while trading; the top arrays agree with the books;
every event number is taken once, the message's before its prints, in increasing order; every
continuous print lies within ``max_cross_ticks`` of the opposite best its order met, and every
auction print inside its book's crossed range; cash and contracts are conserved exactly through
a real ledger, and each account holds what its prints say; at most one bid and one ask resting
per owner per series come from quotes; the venue's record of resting orders per owner is right.
At the end the same message stream into a fresh venue gives the same prints.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from market.exchange.clearing import Ledger
from market.exchange.option_venue import OptionPrint, OptionSettlement, OptionVenue
from market.exchange.order_book import BUY, SELL

N_SERIES = 3
OWNERS = st.integers(1, 4)
CONTRACTS = st.integers(0, N_SERIES - 1)
SIDES = st.sampled_from([BUY, SELL])
OFFSETS = st.integers(0, 9)  # prices are BASE + offset: protection (3 ticks) bites often
QTYS = st.integers(1, 6)
BASE = 100
MAX_CROSS = 3


def new_venue(clock, on_trade) -> OptionVenue:
    return OptionVenue(N_SERIES, clock=clock, on_trade=on_trade, max_cross_ticks=MAX_CROSS)


class OptionVenueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.prints: list[OptionPrint] = []
        self.ledger = Ledger(n_accounts=5, n_contracts=N_SERIES, multiplier=100)
        settle = OptionSettlement(self.ledger)
        self.venue = new_venue(lambda: self.now, lambda p: (self.prints.append(p), settle(p)))
        self.log: list[tuple[float, str, tuple]] = []
        self.other_book_events = 0
        # (contract, order id) -> (owner, side, from a quote) for every order the test sent
        self.sent: dict[tuple[int, int], tuple[int, int, bool]] = {}

    # ------------------------------------------------------------------ sending
    def _send(self, method: str, *args):
        """One message: log it, send it, check the event numbers and the prints it caused."""
        v = self.venue
        self.log.append((self.now, method, args))
        seq0, n0, msgs0 = v.events.last, len(self.prints), v.n_messages
        tops0 = [tuple(int(a[c]) for a in v.top()) for c in range(N_SERIES)]
        was_halted = v.halted
        result = getattr(v, method)(*args)
        new = self.prints[n0:]
        accepted = v.n_messages - msgs0
        assert accepted in (0, 1)
        assert v.events.last == seq0 + accepted + len(new)
        if accepted:
            assert v.message_seq == seq0 + 1
        first = seq0 + 1 + accepted  # a cross is a print without a message of its own
        assert [p.seq for p in new] == list(range(first, first + len(new)))
        assert all(p.time == self.now for p in new)
        if was_halted and method != "reopen_all":
            assert new == []
        self._check_print_prices(method, new, tops0)
        return result

    def _check_print_prices(self, method, new, tops0) -> None:
        first_of: dict[tuple[int, int], int] = {}
        for p in new:
            # auction prints and crosses have no aggressor, every continuous print has one
            assert (p.aggressor_side == 0) == (method in ("reopen_all", "cross"))
            if p.aggressor_side == 0:
                if method == "reopen_all":  # inside the crossed range of the halted book
                    bid, _, ask, _ = tops0[p.contract]
                    assert ask <= p.price <= bid
                continue
            order = p.buyer_order if p.aggressor_side == BUY else p.seller_order
            first = first_of.setdefault((p.contract, order), p.price)
            if p.aggressor_side == BUY:
                assert first <= p.price <= first + MAX_CROSS
            else:
                assert first - MAX_CROSS <= p.price <= first
            if method in ("limit", "ioc", "replace"):  # the first fill is at the old touch
                bid, _, ask, _ = tops0[p.contract]
                assert first == (ask if p.aggressor_side == BUY else bid)

    def _track(self, contract, oid, owner, side, from_quote) -> None:
        if oid is not None:
            self.sent[(contract, oid)] = (owner, side, from_quote)

    # ------------------------------------------------------------------ rules
    @initialize(orders=st.lists(st.tuples(OWNERS, CONTRACTS, SIDES, OFFSETS, QTYS), max_size=8))
    def list_and_seed(self, orders):
        for c in range(N_SERIES):
            self._send("list_series", c)
        for owner, c, side, offset, qty in orders:
            self.limit(owner, c, side, offset, qty)

    @rule(dt=st.floats(0.0, 3.0))
    def advance_clock(self, dt):
        self.now += dt

    @rule(owner=OWNERS, c=CONTRACTS, side=SIDES, offset=OFFSETS, qty=QTYS)
    def limit(self, owner, c, side, offset, qty):
        oid = self._send("limit", owner, c, side, BASE + offset, qty)
        self._track(c, oid, owner, side, False)

    @rule(owner=OWNERS, c=CONTRACTS, side=SIDES, offset=OFFSETS, qty=QTYS)
    def ioc(self, owner, c, side, offset, qty):
        filled = self._send("ioc", owner, c, side, BASE + offset, qty)
        assert filled is None or 0 <= filled <= qty

    @rule(
        owner=OWNERS,
        c=CONTRACTS,
        side=SIDES,
        through=st.integers(0, MAX_CROSS + 1),
        qty=st.integers(1, 15),
        kind=st.sampled_from(["ioc", "limit"]),
    )
    def take(self, owner, c, side, through, qty, kind):
        """An order priced ``through`` ticks beyond the opposite best: up to the protection
        limit and one tick past it."""
        if not self.venue.listed(c):
            return
        view = self.venue.view(c)
        touch = view.best_ask if side == BUY else view.best_bid
        if touch is not None and touch + side * through >= 1:
            oid = self._send(kind, owner, c, side, touch + side * through, qty)
            if through > MAX_CROSS:
                assert oid is None
            elif kind == "limit":
                self._track(c, oid, owner, side, False)

    @rule(
        owner=OWNERS,
        c=CONTRACTS,
        bid=st.none() | OFFSETS,
        width=st.integers(1, 4),
        qtys=st.tuples(QTYS, st.integers(0, 6)),
    )
    def quote(self, owner, c, bid, width, qtys):
        bid_px = None if bid is None else BASE + bid
        bid_qty = 0 if bid is None else qtys[0]
        ask_px = BASE + (bid if bid is not None else 5) + width
        ids = self._send("quote", owner, c, bid_px, bid_qty, ask_px, qtys[1])
        for oid, side in zip(ids, (BUY, SELL), strict=True):
            self._track(c, oid, owner, side, True)

    @rule(data=st.data(), offset=OFFSETS, qty=QTYS)
    def replace(self, data, offset, qty):
        if not self.sent:
            return
        c, oid = data.draw(st.sampled_from(sorted(self.sent)))
        new = self._send("replace", c, oid, BASE + offset, qty)
        if new is not None:
            self._track(c, new, *self.sent[(c, oid)])

    @rule(data=st.data())
    def cancel(self, data):
        if self.sent:
            self._send("cancel", *data.draw(st.sampled_from(sorted(self.sent))))

    @rule(owner=OWNERS)
    def mass_cancel(self, owner):
        pulled = self._send("mass_cancel", owner)
        assert all(p.owner == owner for p in pulled)
        assert self.venue.orders_of(owner) == []

    @precondition(lambda self: not self.venue.halted)
    @rule(
        c=CONTRACTS,
        buyer=OWNERS,
        seller=OWNERS,
        qty=QTYS,
        offset=OFFSETS,
        package=st.integers(0, 3),
    )
    def cross(self, c, buyer, seller, qty, offset, package):
        if buyer != seller and self.venue.listed(c):
            self._send("cross", c, buyer, seller, qty, BASE + offset, package)

    @rule(roll=st.integers(0, 2))
    def halt_or_reopen(self, roll):
        if roll:  # one step in three: halts are rarer than orders
            return
        if self.venue.halted:
            self._send("reopen_all")
        else:
            self._send("halt_all", "underlying halted")

    @rule(c=CONTRACTS, roll=st.integers(0, 3))
    def list_or_delist(self, c, roll):
        if roll:  # one step in four: expiries are rarer than orders
            return
        if self.venue.listed(c):
            self._send("delist", c)
            for key in [k for k in self.sent if k[0] == c]:  # ids restart in a new book
                del self.sent[key]
        else:
            self._send("list_series", c)

    @rule()
    def other_book_takes_a_number(self):
        self.log.append((self.now, "next_seq", ()))
        before = self.venue.events.last
        assert self.venue.next_seq() == before + 1
        self.other_book_events += 1

    # ------------------------------------------------------------------ invariants
    @invariant()
    def tops_agree_with_the_books_and_none_is_crossed_while_trading(self):
        v = self.venue
        bid_px, bid_sz, ask_px, ask_sz = v.top()
        for c in range(N_SERIES):
            if not v.listed(c):
                assert (bid_px[c], bid_sz[c], ask_px[c], ask_sz[c]) == (-1, -1, -1, -1)
                continue
            view = v.view(c)
            assert bid_px[c] == (view.best_bid or 0) and ask_px[c] == (view.best_ask or 0)
            assert bid_sz[c] == (view.size_within(BUY, 0) if view.best_bid else 0)
            assert ask_sz[c] == (view.size_within(SELL, 0) if view.best_ask else 0)
            assert view.halted == v.halted
            if not v.halted and view.best_bid and view.best_ask:
                assert view.best_bid < view.best_ask

    @invariant()
    def every_event_number_is_counted_once(self):
        v = self.venue
        assert v.n_prints == len(self.prints)
        assert v.events.last == v.n_events + self.other_book_events
        seqs = [p.seq for p in self.prints]
        assert seqs == sorted(set(seqs))

    @invariant()
    def cash_and_contracts_are_conserved_exactly(self):
        self.ledger.check()
        cash = defaultdict(int)
        held = defaultdict(int)
        for p in self.prints:
            cash[p.buyer] -= p.price * 100 * p.qty
            cash[p.seller] += p.price * 100 * p.qty
            held[p.buyer, p.contract] += p.qty
            held[p.seller, p.contract] -= p.qty
        for account in range(5):
            assert self.ledger.cash[account] == cash[account]
            for c in range(N_SERIES):
                assert self.ledger.options[account, c] == held[account, c]

    @invariant()
    def quotes_and_resting_orders_are_tracked(self):
        v = self.venue
        quoted = defaultdict(int)
        resting = defaultdict(list)
        for (c, oid), (owner, side, from_quote) in self.sent.items():
            if v.view(c).remaining(oid):
                resting[owner].append((c, oid))
                if from_quote:
                    quoted[owner, c, side] += 1
        assert max(quoted.values(), default=0) <= 1
        for owner in range(1, 5):
            assert v.orders_of(owner) == sorted(resting[owner])

    def teardown(self):
        # determinism: the same messages at the same times into a fresh venue, the same prints
        replayed: list[OptionPrint] = []
        clock = [0.0]
        venue = new_venue(lambda: clock[0], replayed.append)
        for now, method, args in self.log:
            clock[0] = now
            with contextlib.suppress(ValueError):
                getattr(venue, method)(*args)
        assert replayed == self.prints
        assert [a.tolist() for a in venue.top()] == [a.tolist() for a in self.venue.top()]


OptionVenueMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOptionVenueStateful = OptionVenueMachine.TestCase
