"""Dealers' package quotes in complex-order auctions: the price is the ratio-weighted sum of the
legs' theos plus or minus a half-width from the package's net Greeks, a package that nets its
risk away is quoted tighter than one that adds it, and a curtailed or limited dealer does not
answer.

The model holds dealers and an idle customer; the share book is scripted (as in
test_dealer_quoting), so the marks are the test's."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.package_quoting import PackageQuotingParams, PackageResponder
from experiments.model import HedgeLoopModel
from market.exchange.complex_book import Strategy
from market.exchange.leg_allocation import DerivedBBO
from tests.agents.test_dealer_quoting import book_model

NO_BBO = DerivedBBO(None, 0, None, 0)


def responder(
    m: HedgeLoopModel, *, curtailed: bool = False, stress: float = 1.0, max_packages: int = 10
) -> PackageResponder:
    om = m.option_market
    assert om is not None
    om.quote_pass()
    q = next(iter(om.quoters.values()))
    params = PackageQuotingParams(
        tick=om.tick, max_packages=max_packages, vol_points=0.5, gamma_move=0.005
    )
    return PackageResponder(q, params, lambda: om.last_marks, lambda: stress, lambda: curtailed)


def same_expiry_calls(m: HedgeLoopModel) -> tuple[int, int]:
    """Two live calls of the later expiry at neighbouring strikes near the money."""
    chain = m.chain
    live = np.flatnonzero(m.chain.live(m.now) & np.asarray(chain.is_call, dtype=bool))
    expiry = np.asarray(chain.expiry)[live]
    rows = live[expiry == expiry.max()]
    strikes = np.asarray(chain.strike)[rows]
    order = rows[np.argsort(np.abs(strikes - 100.0))]
    first, second = sorted(order[:2].tolist(), key=lambda r: chain.strike[r])
    return int(first), int(second)


def test_the_price_is_the_ratio_weighted_theo_sum_plus_or_minus_the_half_width() -> None:
    m = book_model()
    r = responder(m, stress=1.5)
    lo, hi = same_expiry_calls(m)
    marks = r._marks()
    assert marks is not None
    strategy = Strategy([(lo, 1), (hi, -1)])
    centre = marks.theo[lo] - marks.theo[hi]
    half = r.half_width(strategy.legs, marks) * 1.5
    tick = r.params.tick
    (offer,) = r(strategy, 1, 4, NO_BBO)
    (bid,) = r(strategy, -1, 4, NO_BBO)
    assert offer.price == math.ceil((centre + half) / tick - 1e-9)
    assert bid.price == math.floor((centre - half) / tick + 1e-9)
    assert bid.price < centre / tick < offer.price
    assert offer.owner == bid.owner == r.dealer.account and offer.qty == bid.qty == 4
    # a 2:1 ratio weighs its leg's theo twice
    ratio = Strategy([(lo, 2), (hi, -1)])
    price, _ = r.price(ratio.legs, 1, marks, 1.0)
    expected = 2 * marks.theo[lo] - marks.theo[hi] + r.half_width(ratio.legs, marks)
    assert price == math.ceil(expected / tick - 1e-9)


def test_a_risk_reducing_package_is_tighter_than_a_risk_adding_one_of_the_same_legs() -> None:
    m = book_model()
    r = responder(m)
    lo, hi = same_expiry_calls(m)
    marks = r._marks()
    assert marks is not None
    vertical = Strategy([(lo, 1), (hi, -1)]).legs
    both_long = Strategy([(lo, 1), (hi, 1)]).legs
    assert r.half_width(vertical, marks) < r.half_width(both_long, marks)
    # and tighter than one of its legs alone
    assert r.half_width(vertical, marks) < r.half_width(((lo, 1),), marks)
    (tight,) = r(Strategy(vertical), 1, 1, NO_BBO)
    (wide,) = r(Strategy(both_long), 1, 1, NO_BBO)
    centre_gap = (marks.theo[lo] - marks.theo[hi]) - (marks.theo[lo] + marks.theo[hi])
    assert tight.price - wide.price < centre_gap / r.params.tick + 1  # the half-width gap shows
    half_tight, legs_tight = r.answers[0]
    assert legs_tight is not None and half_tight < legs_tight


def test_a_curtailed_dealer_does_not_answer_and_size_is_capped() -> None:
    m = book_model()
    lo, hi = same_expiry_calls(m)
    strategy = Strategy([(lo, 1), (hi, -1)])
    curtailed = responder(m, curtailed=True)
    assert curtailed(strategy, 1, 5, NO_BBO) == []
    assert curtailed.refused["curtailed"] == 1 and curtailed.answers == []
    capped = responder(m, max_packages=3)
    (quote,) = capped(strategy, 1, 50, NO_BBO)
    assert quote.qty == 3


def test_a_dealer_at_its_vega_limit_does_not_add_to_it() -> None:
    m = book_model()
    r = responder(m)
    lo, hi = same_expiry_calls(m)
    straddle_like = Strategy([(lo, 1), (hi, 1)])
    r.dealer.net_vega = r.dealer.cfg.vega_limit  # long vega at the limit
    # an incoming buy makes the dealer sell (reduces its vega): it answers
    assert len(r(straddle_like, 1, 5, NO_BBO)) == 1
    # an incoming sell makes it buy more vega: it does not
    assert r(straddle_like, -1, 5, NO_BBO) == []
    assert r.refused["limits"] == 1


def test_no_marks_no_quote_and_bad_params_are_refused() -> None:
    m = book_model()
    om = m.option_market
    assert om is not None
    q = next(iter(om.quoters.values()))
    params = PackageQuotingParams(tick=om.tick, max_packages=5, vol_points=0.5, gamma_move=0.005)
    r = PackageResponder(q, params, lambda: None, lambda: 1.0, lambda: False)
    assert r(Strategy([(0, 1), (1, -1)]), 1, 1, NO_BBO) == []
    assert r.refused["no_marks"] == 1
    with pytest.raises(ValueError, match="max_packages"):
        PackageQuotingParams(tick=0.01, max_packages=0, vol_points=0.5, gamma_move=0.005)
    with pytest.raises(ValueError, match="vol_points"):
        PackageQuotingParams(tick=0.01, max_packages=1, vol_points=-1.0, gamma_move=0.005)
