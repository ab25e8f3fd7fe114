"""Book mode puts the underlying venue and the option venue on one event clock: the prints of
both books have distinct numbers that order them exactly, and ``trades.parquet`` carries them;
rfq mode has no clock and writes the prints as before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.model import HedgeLoopModel
from experiments.report import trades_frame, write_trades
from tests.conftest import tiny_cfg
from tests.experiments.test_option_market import book_day


@pytest.fixture(scope="module")
def day() -> HedgeLoopModel:
    return book_day()


def merged_prints(m: HedgeLoopModel) -> pd.DataFrame:
    """Both books' prints, one row each: ``book`` (0 underlying, 1 options), ``seq``, ``time``."""
    om = m.option_market
    assert om is not None
    underlying = pd.DataFrame(
        {"book": 0, "seq": m.venue.print_seqs(), "time": m.book.trades.columns()["time"]}
    )
    options = pd.DataFrame(
        {"book": 1, "seq": [p.seq for p in om.prints], "time": [p.time for p in om.prints]}
    )
    return pd.concat([underlying, options], ignore_index=True)


def test_book_mode_gives_both_venues_one_clock(day: HedgeLoopModel) -> None:
    om = day.option_market
    assert om is not None and day.events is not None
    assert day.venue.events is day.events
    assert om.events is day.events and om.venue.events is day.events
    s = om.summary()
    assert s["events"] == om.venue.n_events
    assert s["events_all_books"] == day.events.last > s["events"]


def test_the_prints_of_both_books_have_distinct_numbers_in_time_order(
    day: HedgeLoopModel,
) -> None:
    prints = merged_prints(day)
    assert (prints.book == 0).sum() > 0 and (prints.book == 1).sum() > 0
    assert day.events is not None
    assert prints.seq.is_unique and prints.seq.min() >= 1
    assert prints.seq.max() <= day.events.last
    for _, own in prints.groupby("book"):
        assert own.seq.is_monotonic_increasing and own.time.is_monotonic_increasing
    # one order for both books: by number, time never goes back
    assert prints.sort_values("seq").time.is_monotonic_increasing
    # many prints of the two books share a step, where only the number orders them
    steps = prints.groupby("time").book.nunique()
    assert (steps == 2).any()


def test_a_flat_dealer_hedges_only_after_its_first_option_print(day: HedgeLoopModel) -> None:
    """Each dealer starts flat (no position, nothing to hedge), so its first share traded in the
    underlying comes after its first option print: the number, not only the time, says so."""
    om = day.option_market
    assert om is not None
    cols = day.book.trades.columns()
    seqs = day.venue.print_seqs()
    for dealer in day.populations["dealers"]:
        account = dealer.account
        mine = (cols["aggressor_owner"] == account) | (cols["resting_owner"] == account)
        option_seqs = [p.seq for p in om.prints if account in (p.buyer, p.seller)]
        assert mine.any() and option_seqs and dealer.hedge_trades > 0
        assert int(seqs[mine].min()) > min(option_seqs)


def test_trades_parquet_carries_the_numbers_in_book_mode(day: HedgeLoopModel, tmp_path) -> None:
    write_trades(day, tmp_path / "trades.parquet")
    written = pd.read_parquet(tmp_path / "trades.parquet")
    assert written.columns[0] == "seq"
    assert np.array_equal(written.seq.to_numpy(), day.venue.print_seqs())
    pieces = pd.concat([trades_frame(day, i, i + 1000) for i in range(0, len(written), 1000)])
    assert np.array_equal(pieces.seq.to_numpy(), written.seq.to_numpy())


def test_rfq_mode_has_no_clock_and_no_seq_column() -> None:
    m = HedgeLoopModel(tiny_cfg())
    m.run()
    assert m.events is None and m.venue.events is None and m.option_market is None
    assert len(m.book.trades) > 0
    frame = trades_frame(m)
    assert "seq" not in frame.columns
    assert list(frame.columns[:8]) == [
        "time",
        "price_ticks",
        "qty",
        "aggressor_side",
        "aggressor_id",
        "resting_id",
        "aggressor_owner",
        "resting_owner",
    ]
