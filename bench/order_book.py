"""Order-book throughput: replay a seeded message stream through the public API.

The stream is about 55% limit orders (a share of them marketable), 10% market orders and 35%
cancels of orders that are live at that moment, with prices a few ticks around a random-walking
mid. It is generated up front (untimed), then replayed several times on fresh books; each run
prints messages per second, and the median is reported against the 1,000,000 msg/s target.

    python -m bench.order_book [--messages N] [--repeats R] [--seed S]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from market.exchange.order_book import OrderBook

LIMIT, MARKET, CANCEL = 0, 1, 2
TARGET_RATE = 1_000_000


Message = tuple[int, tuple[int, ...]]


def make_stream(n_messages: int, seed: int) -> list[Message]:
    """The message stream as ``(kind, args)`` pairs, ``args`` being the API call's arguments.

    Cancels must name orders that are live when the cancel arrives, so the stream is built by
    running a book alongside the generator; matching is deterministic, so a replay on a fresh
    book sees exactly the same order ids and live set.
    """
    if n_messages < 1:
        raise ValueError(f"n_messages must be >= 1, got {n_messages}")
    rng = np.random.default_rng(seed)
    kinds = rng.choice(3, size=n_messages, p=[0.55, 0.10, 0.35])
    sides = np.where(rng.random(n_messages) < 0.5, 1, -1)
    # distance from the mid on the order's own side; -1 and 0 cross the mid (often marketable)
    offsets = rng.integers(-1, 6, size=n_messages)
    qtys = rng.integers(1, 11, size=n_messages) * 10
    owners = rng.integers(0, 1_000, size=n_messages)
    steps = rng.choice((-1, 0, 1), size=n_messages, p=[0.05, 0.90, 0.05])
    picks = rng.random(n_messages)
    mid = 10_000
    book = OrderBook()
    live: list[int] = []
    stream: list[Message] = []
    for i in range(n_messages):
        mid += int(steps[i])
        kind = int(kinds[i])
        side = int(sides[i])
        owner = int(owners[i])
        qty = int(qtys[i])
        if kind == CANCEL:
            target = 0
            while live:
                j = int(picks[i] * len(live))
                candidate = live[j]
                if book.remaining(candidate):
                    target = candidate
                    break
                live[j] = live[-1]
                live.pop()
            if target:
                book.cancel(target)
                stream.append((CANCEL, (target,)))
                continue
            kind = LIMIT  # nothing live to cancel: send a limit order instead
        if kind == LIMIT:
            price = mid - side * int(offsets[i])
            oid = book.limit(owner, side, price, qty)
            if book.remaining(oid):
                live.append(oid)
            stream.append((LIMIT, (owner, side, price, qty)))
        else:
            book.market(owner, side, qty)
            stream.append((MARKET, (owner, side, qty)))
    return stream


def replay(stream: list[Message]) -> tuple[float, OrderBook]:
    """Replay the stream on a fresh book; returns (elapsed seconds, book).

    Each message's bound method is looked up before the clock starts, so the timed loop is one
    public-API call per message.
    """
    book = OrderBook()
    methods = {LIMIT: book.limit, MARKET: book.market, CANCEL: book.cancel}
    calls = [(methods[kind], args) for kind, args in stream]
    start = time.perf_counter()
    for call, args in calls:
        call(*args)
    return time.perf_counter() - start, book


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages per run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs on fresh books")
    parser.add_argument("--seed", type=int, default=20_240_601, help="stream seed")
    args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error(f"--messages must be >= 1, got {args.messages}")
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    stream = make_stream(args.messages, args.seed)
    counts = {
        name: sum(1 for m in stream if m[0] == code)
        for name, code in (("limit", LIMIT), ("market", MARKET), ("cancel", CANCEL))
    }
    mix = ", ".join(f"{name} {count / len(stream):.1%}" for name, count in counts.items())
    print(f"stream: {len(stream):,} messages (seed {args.seed}; {mix})")
    rates = []
    book = None
    for run in range(1, args.repeats + 1):
        elapsed, book = replay(stream)
        rate = len(stream) / elapsed
        rates.append(rate)
        print(f"run {run}: {elapsed:.3f} s, {rate:,.0f} msg/s")
    median = statistics.median(rates)
    print(f"trades printed per run: {len(book.trades):,}; events processed: {book.n_events:,}")
    verdict = "meets" if median >= TARGET_RATE else "misses"
    print(f"median: {median:,.0f} msg/s ({verdict} the {TARGET_RATE:,} msg/s target)")
    return median


if __name__ == "__main__":
    main()
