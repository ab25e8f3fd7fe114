"""A population's largest order must fit the ledger's 64-bit integer cents: configs whose orders
could overflow it mid-run are refused before any work; every shipped config still validates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from experiments import load_config
from experiments.config import ConfigError
from experiments.order_value import LEDGER_MAX_CENTS, MAX_ORDER_VALUE, PRICE_HEADROOM
from tests.conftest import ROOT

#: a background crowd whose every order is 1e12 shares: at a price of 1e6 its first trade moved
#: about 1e20 cents and stopped the run with LedgerOverflowError a minute into the day
HUGE_LOTS = (
    "market.initial_price=1e6",
    "agents.background.max_lots=1000000",
    "agents.background.lot_size=1000000",
    "agents.background.size_tail_exponent=0.05",
)


def refused(*overrides: str) -> str:
    with pytest.raises(ConfigError) as e:
        load_config("baseline", *overrides)
    return str(e.value)


def test_the_headroom_is_what_the_ledger_leaves_over_the_largest_order():
    # one trade of the largest order fits the ledger until the price has risen this many times
    assert pytest.approx(LEDGER_MAX_CENTS) == MAX_ORDER_VALUE * 100 * PRICE_HEADROOM
    assert 90 < PRICE_HEADROOM < 93


def test_background_orders_that_overflow_the_ledger_are_refused_naming_fields_product_bound():
    msg = refused(*HUGE_LOTS)
    assert "agents.background.max_lots x agents.background.lot_size" in msg
    assert "1e+12 shares" in msg and "market.initial_price 1e+06" in msg
    assert "1e+18 currency" in msg and "at most 1e+15" in msg


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        (
            (
                "market.initial_price=1e5",
                "agents.latent.order_lots=1000000",
                "agents.latent.lot_size=1000000",
            ),
            "agents.latent.order_lots x agents.latent.lot_size",
        ),
        (
            (
                "market.initial_price=1e6",
                "agents.customers.contracts_max=1000000",
                "market.chain.multiplier=10000",
            ),
            "agents.customers.contracts_max x agents.customers.frenzy_size_multiplier",
        ),
        (
            (
                "market.initial_price=1e6",
                "agents.dealers.initial_book_contracts=10000000",
                "market.chain.multiplier=1000",
            ),
            "agents.dealers.initial_book_contracts x market.chain.multiplier",
        ),
    ],
)
def test_other_products_that_overflow_are_refused(overrides, fields):
    assert fields in refused(*overrides)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        (
            "agents.insurers.max_shares_per_action=1000000000000",
            "agents.insurers.max_shares_per_action",
        ),
        ("desk.max_child_qty=1000000000000", "desk.max_child_qty"),
        ("agents.closing_flow.letf_aum=1e13", "agents.closing_flow.letf_aum"),
    ],
)
def test_single_sizes_beyond_their_range_are_refused(override, field):
    msg = refused(override)
    assert field in msg and "must be in" in msg


def test_the_product_is_what_counts_not_each_field():
    # the same huge lots are fine on a cheap underlying: 1e12 shares at 1e3 is worth 1e15
    cfg = load_config("baseline", *HUGE_LOTS[1:], "market.initial_price=1000")
    assert cfg.agents.background.max_lots * cfg.agents.background.lot_size == 10**12
    # and on the expensive one only the population that sends them is checked
    assert load_config("baseline", *HUGE_LOTS, "agents.background.n=0").agents.background.n == 0


def test_the_largest_single_sizes_are_accepted_at_the_largest_price():
    cfg = load_config(
        "baseline",
        "market.initial_price=1e6",
        "agents.insurers.max_shares_per_action=1000000000",
        "desk.max_child_qty=1000000000",
        "agents.dealers.max_order_size=1000000000",
    )
    assert cfg.agents.insurers.max_shares_per_action == 10**9


def _sweep_points(path: Path) -> list[tuple[str, str]]:
    """Each ``key=value`` of a named sweep's grid (the values of ``range(n)`` left out)."""
    params = yaml.safe_load(path.read_text())["hydra"]["sweeper"]["params"]
    return [
        (key, value)
        for key, values in params.items()
        if not str(values).startswith("range(")
        for value in str(values).split(",")
    ]


SWEEPS = sorted(p for p in (ROOT / "conf" / "sweep").glob("*.yaml") if p.stem != "workstation")


@pytest.mark.parametrize("sweep", SWEEPS, ids=lambda p: p.stem)
def test_every_value_of_every_named_sweep_validates(sweep):
    # the scenario a named sweep runs is the one its header's command line names
    header = next(ln for ln in sweep.read_text().splitlines() if "+sweep=" in ln)
    name = header.split("scenario=")[1].split()[0]
    points = _sweep_points(sweep)
    assert points
    for key, value in points:
        assert load_config(name, f"{key}={value}").scenario.name == name
