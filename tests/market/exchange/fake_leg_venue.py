"""A small options venue over real order books, for the complex book's tests.

One :class:`OrderBook` per contract and one integer event counter. Every accepted leg message and
every print takes the next sequence number; book prints and off-book crosses are collected in
``prints`` with the leg's best bid and offer at the moment of the print. After each message that
moves a book's top, ``on_top_changed(contract)`` is called, as the real venue's owner would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from market.exchange.order_book import BUY, SELL, OrderBook
from market.exchange.venue import BookView


class LegPrint(NamedTuple):
    """One leg print: ``bid``/``ask`` are the leg's best prices just before it (book prints) or
    at it (crosses, which leave the book alone)."""

    seq: int
    contract: int
    buyer: int
    seller: int
    qty: int
    price: int
    package_id: int
    bid: int | None
    ask: int | None


class FakeLegVenue:
    def __init__(self, contracts: list[int]) -> None:
        self.books = {c: OrderBook(keep_records=True) for c in contracts}
        self.views = {c: BookView(b) for c, b in self.books.items()}
        self.seq = 0
        self.prints: list[LegPrint] = []
        self.on_top_changed: Callable[[int], None] | None = None
        self._halted = False
        self.n_ioc = 0

    @property
    def halted(self) -> bool:
        return self._halted

    def view(self, contract: int) -> BookView:
        return self.views[contract]

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _top(self, contract: int) -> tuple[int | None, int, int | None, int]:
        v = self.views[contract]
        return v.best_bid, v.size_within(BUY, 0), v.best_ask, v.size_within(SELL, 0)

    def _after(
        self, contract: int, top: tuple[int | None, int, int | None, int], n_before: int
    ) -> int:
        """Number the book's new prints, tell the listener if the top moved; returns the
        quantity printed."""
        book = self.books[contract]
        filled = 0
        for trade in book.trades[n_before:]:
            buy = trade.aggressor_side == BUY
            buyer = trade.aggressor_owner if buy else trade.resting_owner
            seller = trade.resting_owner if buy else trade.aggressor_owner
            seq = self.next_seq()
            bid, ask = top[0], top[2]
            self.prints.append(
                LegPrint(seq, contract, buyer, seller, trade.qty, trade.price, 0, bid, ask)
            )
            filled += trade.qty
        if self._top(contract) != top and self.on_top_changed is not None:
            self.on_top_changed(contract)
        return filled

    def limit(self, owner: int, contract: int, side: int, price: int, qty: int) -> int:
        top, n = self._top(contract), len(self.books[contract].trades)
        self.next_seq()
        oid = self.books[contract].limit(owner, side, price, qty)
        self._after(contract, top, n)
        return oid

    def cancel(self, contract: int, order_id: int) -> int:
        book = self.books[contract]
        if book.remaining(order_id) == 0:
            return 0
        top, n = self._top(contract), len(book.trades)
        self.next_seq()
        done = book.cancel(order_id)
        self._after(contract, top, n)
        return done

    def ioc(self, owner: int, contract: int, side: int, price: int, qty: int) -> int | None:
        book = self.books[contract]
        if book.halted:
            return None
        top, n = self._top(contract), len(book.trades)
        self.next_seq()
        book.ioc(owner, side, price, qty)
        self.n_ioc += 1
        return self._after(contract, top, n)

    def cross(
        self, contract: int, buyer: int, seller: int, qty: int, price: int, package_id: int = 0
    ) -> LegPrint:
        v = self.views[contract]
        row = LegPrint(
            self.next_seq(), contract, buyer, seller, qty, price, package_id, v.best_bid, v.best_ask
        )
        self.prints.append(row)
        return row

    def halt(self) -> None:
        self._halted = True
        for book in self.books.values():
            book.halt("test")

    def reopen(self) -> None:
        self._halted = False
        for contract, book in self.books.items():
            top, n = self._top(contract), len(book.trades)
            book.reopen()
            self._after(contract, top, n)
