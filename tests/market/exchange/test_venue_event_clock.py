"""The underlying venue on the shared event clock: every accepted message takes the next number,
then each print it caused the next ones; refused and malformed messages take none; two venues
on one clock interleave without gaps or repeats; without a clock nothing is numbered and the
prints are the same."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from market.exchange.auctions import OPENING_CALL, CallAuctions
from market.exchange.event_clock import EventClock
from market.exchange.order_book import BUY, SELL, OrderBook, OrderBookError, Trade
from market.exchange.rules import RuleEvent
from market.exchange.venue import Venue


class ScriptedRule:
    """A trading rule that does, at its next update, what the test asks: ``"halt"``,
    ``"reopen"``, ``"band"`` (re-arm a price band only) or nothing."""

    name = "scripted"
    band_mode = "block"

    def __init__(self) -> None:
        self.events: list[RuleEvent] = []
        self.pending: str | None = None

    @property
    def next_deadline(self) -> float | None:
        return None

    def update(self, now: float, book: OrderBook) -> None:
        action, self.pending = self.pending, None
        if action == "halt" and not book.halted:
            book.halt("scripted")
        elif action == "reopen" and book.halted:
            book.reopen()
        elif action == "band":
            book.set_band(1, 10_000, "block", self.name)


def clocked(events: EventClock | None = None) -> tuple[Venue, ScriptedRule, list[Trade]]:
    settled: list[Trade] = []
    script = ScriptedRule()
    venue = Venue(
        OrderBook(tick_size=0.01),
        [script],
        on_trade=settled.append,
        events=events if events is not None else EventClock(),
    )
    return venue, script, settled


def test_a_message_takes_the_next_number_and_its_prints_the_ones_after() -> None:
    venue, _, settled = clocked()
    venue.limit(1, SELL, 101, 5)
    assert venue.message_seq == 1
    venue.limit(2, SELL, 102, 5)
    assert venue.message_seq == 2
    venue.market(3, BUY, 8)  # takes both levels: two prints
    assert venue.message_seq == 3
    assert venue.print_seqs().tolist() == [4, 5]
    assert [venue.print_seq(i) for i in range(2)] == [4, 5]
    assert len(settled) == 2
    venue.ioc(3, BUY, 102, 1)
    assert (venue.message_seq, venue.print_seqs().tolist()) == (6, [4, 5, 7])
    oid = venue.limit(4, BUY, 90, 10)
    venue.reduce(oid, 4)
    assert venue.message_seq == 9
    assert venue.cancel(oid) == 4
    assert venue.message_seq == 10
    assert venue.events is not None and venue.events.last == 10


def test_a_cancel_of_a_finished_order_is_accepted_and_numbered() -> None:
    venue, _, _ = clocked()
    oid = venue.limit(1, SELL, 101, 2)
    venue.market(2, BUY, 2)  # message 2, print 3: the order is filled
    assert venue.cancel(oid) == 0
    assert venue.message_seq == 4


def test_refused_and_malformed_messages_take_no_number() -> None:
    venue, script, _ = clocked()
    venue.limit(1, SELL, 101, 5)
    script.pending = "halt"
    venue.update_rules(1.0)
    assert venue.halted and venue.message_seq == 2
    assert venue.market(2, BUY, 1) is None
    assert venue.ioc(2, BUY, 101, 1) is None
    assert venue.n_refused == 2
    for call in (
        lambda: venue.limit(2, BUY, 0, 1),
        lambda: venue.limit(2, 0, 100, 1),
        lambda: venue.cancel(999),
        lambda: venue.reduce(1, 7),
    ):
        with pytest.raises(OrderBookError):
            call()
    assert venue.events is not None and venue.events.last == 2
    assert venue.message_seq == 2


def test_a_rule_that_halts_or_reopens_takes_a_number_before_the_auction_prints() -> None:
    venue, script, settled = clocked()
    venue.update_rules(0.0)  # nothing to do: no number
    script.pending = "band"
    venue.update_rules(0.5)  # a band re-armed, nothing else: no number
    assert venue.events is not None and venue.events.last == 0
    script.pending = "halt"
    venue.update_rules(1.0)
    assert venue.message_seq == 1
    venue.limit(1, BUY, 105, 3)  # held: the book is crossed while halted
    venue.limit(2, SELL, 100, 3)
    assert venue.print_seqs().tolist() == []
    script.pending = "reopen"
    venue.update_rules(2.0)
    assert venue.message_seq == 4
    assert venue.print_seqs().tolist() == [5]
    assert len(settled) == 1 and settled[0].qty == 3


def test_a_market_order_that_joins_a_call_auction_is_numbered() -> None:
    calls = CallAuctions(60.0, 0.0, 10.0, 0.01, 0.1, True)
    venue = Venue(OrderBook(tick_size=0.01), [calls], calls=calls, events=EventClock())
    venue.update_rules(0.0)
    assert venue.book.halt_reason == OPENING_CALL and venue.message_seq == 1
    venue.limit(1, BUY, 99, 5)
    venue.limit(2, SELL, 101, 5)
    assert venue.market(3, BUY, 4) is not None  # joins at the collar's edge
    assert venue.message_seq == 4
    venue.update_rules(60.0)  # the open: message 5, the auction print 6, the joined order's
    assert not venue.halted  # remainder (none) cancelled in the same rule action
    assert venue.message_seq == 5
    assert venue.print_seqs().tolist() == [6]


def test_two_venues_on_one_clock_interleave_without_gaps_or_repeats() -> None:
    shared = EventClock()
    a, _, _ = clocked(shared)
    b, _, _ = clocked(shared)
    messages: list[int] = []
    for k in range(20):
        venue = a if k % 3 else b
        side = SELL if k % 2 else BUY
        venue.limit(k % 4, side, 100 + (k % 5) * side, 1 + k % 3)
        messages.append(venue.message_seq)
        if k % 4 == 3:
            venue.market(9, -side, 2)
            messages.append(venue.message_seq)
    numbers = messages + a.print_seqs().tolist() + b.print_seqs().tolist()
    assert len(a.print_seqs()) > 0 and len(b.print_seqs()) > 0
    assert sorted(numbers) == list(range(1, shared.last + 1))


def test_without_a_clock_nothing_is_numbered_and_the_prints_are_the_same() -> None:
    plain = Venue(OrderBook(tick_size=0.01))
    numbered, _, _ = clocked()
    for venue in (plain, numbered):
        venue.limit(1, SELL, 101, 5)
        venue.limit(2, SELL, 103, 5)
        oid = venue.limit(3, BUY, 95, 4)
        venue.market(4, BUY, 7)
        venue.ioc(4, BUY, 103, 2)
        venue.reduce(oid, 1)
        venue.cancel(oid)
    assert plain.events is None and plain.message_seq == 0
    assert list(plain.book.trades) == list(numbered.book.trades)
    assert len(numbered.print_seqs()) == len(numbered.book.trades) == 3
    with pytest.raises(ValueError, match="event clock"):
        plain.print_seqs()
    with pytest.raises(ValueError, match="event clock"):
        plain.print_seq(0)


def test_the_numbers_are_kept_past_the_first_allocation() -> None:
    venue, _, _ = clocked()
    n = 3000
    for _ in range(n):
        venue.limit(1, SELL, 100, 1)
        venue.market(2, BUY, 1)
    seqs = venue.print_seqs()
    assert len(seqs) == len(venue.book.trades) == n
    assert seqs.tolist() == list(range(3, 3 * n + 1, 3))  # limit, market, then its print
    assert not seqs.flags.writeable


def test_prints_made_before_the_venue_existed_show_zero() -> None:
    book = OrderBook(tick_size=0.01)
    book.limit(1, SELL, 101, 5)
    book.market(2, BUY, 2)
    venue = Venue(book, events=EventClock())
    venue.market(2, BUY, 1)
    assert venue.print_seqs().tolist() == [0, 2]


def test_the_settlement_callback_can_read_the_number_of_the_print_it_settles() -> None:
    seen: list[int] = []
    holder: list[Venue] = []

    def settle(trade: Trade) -> None:
        venue = holder[0]
        seen.append(venue.print_seq(len(seen)))

    venue = Venue(OrderBook(tick_size=0.01), on_trade=settle, events=EventClock())
    holder.append(venue)
    venue.limit(1, SELL, 101, 1)
    venue.limit(1, SELL, 102, 1)
    venue.market(2, BUY, 2)
    assert seen == [4, 5]


@pytest.mark.parametrize("events", ["clock", 3, EventClock])
def test_events_must_be_an_event_clock_or_none(events: object) -> None:
    with pytest.raises(ValueError, match="events must be an EventClock or None"):
        Venue(OrderBook(tick_size=0.01), events=events)  # type: ignore[arg-type]


@pytest.mark.parametrize("index", [-1, 1, 0.0, True, "0"])
def test_a_print_index_out_of_range_is_refused(index: object) -> None:
    venue, _, _ = clocked()
    venue.limit(1, SELL, 101, 1)
    venue.market(2, BUY, 1)
    with pytest.raises(ValueError, match="index"):
        venue.print_seq(index)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- property test
PRICES = st.integers(95, 105)
QTYS = st.integers(1, 8)
SIDES = st.sampled_from([BUY, SELL])
OWNERS = st.integers(0, 4)


class NumberedVenueMachine(RuleBasedStateMachine):
    """Random messages to a venue on a clock and, alongside, to one without: every number the
    clock hands out is one accepted message's or one print's, the prints' numbers increase and
    follow their message's, aligned 1:1 with ``book.trades``, and the prints are the same."""

    def __init__(self) -> None:
        super().__init__()
        self.venue, self.script, _ = clocked()
        self.plain_script = ScriptedRule()
        self.plain = Venue(OrderBook(tick_size=0.01), [self.plain_script])
        self.events = self.venue.events
        self.messages: list[int] = []
        self.now = 0.0

    def _send(self, method: str, *args: int) -> None:
        """The same message to both venues; records the number if the clocked one took one."""
        before = self.events.last if self.events is not None else 0
        n_prints = len(self.venue.book.trades)
        try:
            result = getattr(self.venue, method)(*args)
        except OrderBookError:
            with pytest.raises(OrderBookError):
                getattr(self.plain, method)(*args)
            assert self.events is not None and self.events.last == before
            return
        assert getattr(self.plain, method)(*args) == result
        assert self.events is not None
        if method in ("market", "ioc") and result is None:  # refused while halted
            assert self.events.last == before
            return
        assert self.venue.message_seq == before + 1
        self.messages.append(self.venue.message_seq)
        new = self.venue.print_seqs()[n_prints:].tolist()
        assert new == list(range(before + 2, before + 2 + len(new)))

    @rule(owner=OWNERS, side=SIDES, price=PRICES, qty=QTYS)
    def limit(self, owner: int, side: int, price: int, qty: int) -> None:
        self._send("limit", owner, side, price, qty)

    @rule(owner=OWNERS, side=SIDES, qty=QTYS)
    def market(self, owner: int, side: int, qty: int) -> None:
        self._send("market", owner, side, qty)

    @rule(owner=OWNERS, side=SIDES, price=PRICES, qty=QTYS)
    def ioc(self, owner: int, side: int, price: int, qty: int) -> None:
        self._send("ioc", owner, side, price, qty)

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        self._send("cancel", data.draw(st.integers(1, self.venue.book.n_orders + 1)))

    @rule(data=st.data(), new_qty=st.integers(0, 8))
    def reduce(self, data: st.DataObject, new_qty: int) -> None:
        self._send("reduce", data.draw(st.integers(1, self.venue.book.n_orders + 1)), new_qty)

    @rule(action=st.sampled_from(["halt", "reopen", "band", None]))
    def rules(self, action: str | None) -> None:
        self.now += 1.0
        before = self.events.last if self.events is not None else 0
        state = (self.venue.halted, len(self.venue.book.trades))
        self.script.pending = self.plain_script.pending = action
        self.venue.update_rules(self.now)
        self.plain.update_rules(self.now)
        if (self.venue.halted, len(self.venue.book.trades)) != state:
            assert self.venue.message_seq == before + 1
            self.messages.append(self.venue.message_seq)
        else:
            assert self.events is not None and self.events.last == before

    @invariant()
    def numbers_are_exact(self) -> None:
        seqs = self.venue.print_seqs().tolist()
        assert len(seqs) == len(self.venue.book.trades)
        assert all(a < b for a, b in pairwise(seqs))
        assert self.events is not None
        assert sorted(self.messages + seqs) == list(range(1, self.events.last + 1))
        assert list(self.venue.book.trades) == list(self.plain.book.trades)


NumberedVenueMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestNumberedVenue = NumberedVenueMachine.TestCase
