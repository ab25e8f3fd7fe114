"""The listed option contracts of the one underlying, their open interest and who holds them.

Contracts are rows ``0..n-1`` of a flat table of numpy arrays: ``strike`` (currency), ``expiry``
(clock seconds since the first open; a contract expires at the close of its expiry day, so day
``d`` expires at ``(d + 1) * 23,400``), ``is_call``, ``multiplier`` (shares per contract, default
100). Quantities are in contracts; positions are signed, + = long (the holder bought).

Open-interest rule. Every holder (an account key: any hashable, e.g. an agent id) nets its own
position in each contract. A trade moves ``qty`` contracts from the seller's position to the
buyer's: a buyer who is short first closes (buys back) and the remainder opens a long, and the
same for a seller who is long. Open interest is the sum of the holders' long positions, which
equals the sum of their short positions because every trade adds to one side what it takes from
the other. So OI rises when both sides open, falls when both close, and is unchanged when one side
opens while the other closes (a position changes hands).

Dealers are holders like any other; the chain is told which holder keys are dealers and the
dealers' *true* net position is the sum of their positions (+ = dealers long). An outside observer
sees only open interest; see :mod:`market.options.gex` for the estimate it makes.

Listing. Every row of the table exists from the start (so a holder's position vector and every
cached copy of the table keep their length), but a contract trades only once it is *listed*: at
``listed_at`` (clock seconds, default 0 = from the start) the simulator calls
:meth:`OptionChain.open_listings`, as an exchange lists a new expiry as old ones expire.
:func:`expiry_schedule` is the rolling rule (a weekly cycle listed a fixed horizon ahead) and
:func:`covering_strikes_pct` widens an expiry's strike grid by the drift the price may make
while it trades, so a grid set at the first open still covers the price many days later.

A book given directly as arrays (``open_interest`` and ``dealer_position``) is seeded with the
dealers' position under the first dealer key and the rest of the open interest held by two
anonymous customer accounts, :data:`INITIAL_LONGS` and :data:`INITIAL_SHORTS`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from market.exchange.clock import SECONDS_PER_DAY, SECONDS_PER_YEAR

DEFAULT_MULTIPLIER = 100
DEALER = "dealer"
INITIAL_LONGS = "initial_longs"
INITIAL_SHORTS = "initial_shorts"

# Relative tolerance for matching a strike given as a float against the listed grid.
_STRIKE_RTOL = 1e-9


class ChainError(ValueError):
    """An option-chain argument is invalid or refers to a contract that does not exist."""


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields explicitly
class ExpiredContracts:
    """Contracts removed by :meth:`OptionChain.expire` and the positions the caller must settle.

    ``positions[holder]`` is aligned with ``indices`` (contracts, signed, + = long).
    """

    indices: np.ndarray
    strike: np.ndarray
    is_call: np.ndarray
    multiplier: np.ndarray
    positions: dict[Hashable, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.indices.size)


def expiry_of_day(day: ArrayLike) -> float | NDArray[np.float64]:
    """Clock time (seconds) of the close of trading day ``day`` (0-based): the expiry instant."""
    d = np.asarray(day)
    if d.size and (not np.all(np.isfinite(d)) or np.any(d < 0) or np.any(d != np.round(d))):
        raise ChainError(f"expiry day must be a whole number >= 0, got {day!r}")
    if d.ndim:
        return (d.astype(float) + 1.0) * SECONDS_PER_DAY
    return (float(d) + 1.0) * SECONDS_PER_DAY


def expiry_schedule(
    expiry_days: Sequence[int], cycle_days: int, horizon_days: int, last_day: int
) -> tuple[list[int], list[int]]:
    """Expiry days to list and the trading day at whose open each is listed.

    ``expiry_days`` (trading-day indices) are listed at the first open, as given. Rolling
    expiries follow: every day ``d`` after the last of them with ``(d + 1) % cycle_days == 0``
    (the last day of each ``cycle_days``-day week, so ``cycle_days=5`` expires on days 4, 9, 14,
    ...) is listed at the open of day ``max(0, d - horizon_days)``, as long as that is no later
    than ``last_day`` (the run's last trading day). So once the explicit expiries run out, the
    expiries within ``horizon_days`` of today are always listed (``horizon_days / cycle_days``
    of them). ``cycle_days=0`` lists only ``expiry_days``. Returns ``(days, listing_days)``,
    both in ascending expiry order.
    """
    days = sorted(int(d) for d in expiry_days)
    if not days:
        raise ChainError("expiry_days must be a non-empty sequence of trading-day indices")
    if cycle_days < 0 or horizon_days < 0 or last_day < 0:
        raise ChainError(
            "cycle_days, horizon_days and last_day must be >= 0 trading days, got "
            f"{cycle_days}, {horizon_days}, {last_day}"
        )
    listing = [0] * len(days)
    if cycle_days == 0:
        return days, listing
    # the first cycle day after the last explicit expiry: d + 1 the next multiple of the cycle
    first = ((days[-1] + 1) // cycle_days + 1) * cycle_days - 1
    for d in range(first, last_day + horizon_days + 1, cycle_days):
        days.append(d)
        listing.append(max(0, d - horizon_days))
    return days, listing


def covering_strikes_pct(
    base_pct: float, vol: float, days: float, n_sd: float, days_per_year: float
) -> float:
    """Half-width (% of the first price) of a strike grid that still covers ``base_pct`` around
    the price after ``days`` trading days: ``base_pct + 100 * n_sd * vol * sqrt(days / year)``.

    ``vol`` is annualised; ``n_sd`` standard deviations of the log price's drift are covered.
    """
    if not (np.isfinite(vol) and vol >= 0 and np.isfinite(n_sd) and n_sd >= 0 and days >= 0):
        raise ChainError(f"vol, n_sd and days must be finite and >= 0, got {vol}, {n_sd}, {days}")
    return float(base_pct + 100.0 * n_sd * vol * np.sqrt(days / days_per_year))


def _nice_step(raw: float) -> float:
    """Smallest of 1, 2, 2.5, 5 x 10**k that is >= ``raw``, the usual listing increments."""
    exponent = np.floor(np.log10(raw))
    for mantissa in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = mantissa * 10.0**exponent
        if step >= raw * (1 - 1e-12):
            return float(step)
    return float(10.0 ** (exponent + 1))  # pragma: no cover - the loop always returns


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


def _whole_contracts(name: str, values: ArrayLike, allow_negative: bool) -> NDArray[np.int64]:
    arr = np.asarray(values)
    if arr.dtype == bool:
        raise ChainError(f"{name} must be numbers of contracts, not booleans")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ChainError(f"{name} must be whole numbers of contracts")
    if not allow_negative and np.any(arr < 0):
        raise ChainError(f"{name} must be >= 0 contracts")
    return arr.astype(np.int64)


def _listing(
    strike: ArrayLike, expiry: ArrayLike, is_call: ArrayLike, multiplier: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64]]:
    """The checked listing arrays (strike, expiry, is_call, multiplier), each of length n."""
    strike_arr = np.atleast_1d(np.asarray(strike, dtype=float))
    if strike_arr.ndim != 1:
        raise ChainError(f"strike must be one-dimensional, got shape {strike_arr.shape}")
    n = strike_arr.size
    expiry_arr = np.broadcast_to(np.asarray(expiry, dtype=float), (n,)).copy()
    call_raw = np.asarray(is_call)
    if call_raw.dtype != bool:
        raise ChainError("is_call must be booleans (True = call, False = put)")
    call_arr = np.broadcast_to(call_raw, (n,)).copy()
    mult_arr = np.broadcast_to(np.asarray(multiplier, dtype=float), (n,)).copy()
    if not np.all(np.isfinite(strike_arr)) or np.any(strike_arr <= 0):
        raise ChainError("strike must be finite and > 0 (currency)")
    in_days = expiry_arr / SECONDS_PER_DAY
    on_close = np.isclose(in_days, np.round(in_days), rtol=0.0, atol=1e-9)
    if not np.all(np.isfinite(expiry_arr)) or np.any(expiry_arr <= 0) or not np.all(on_close):
        raise ChainError(
            "expiry must be the close of a trading day in clock seconds: a positive multiple "
            f"of {SECONDS_PER_DAY} (use expiry_of_day(day))"
        )
    if not np.all(np.isfinite(mult_arr)) or np.any(mult_arr <= 0):
        raise ChainError("multiplier must be finite and > 0 (shares per contract)")
    keys = pd.MultiIndex.from_arrays([strike_arr, expiry_arr, call_arr])
    if keys.has_duplicates:
        dup = keys[keys.duplicated()][0]
        raise ChainError(
            f"contract listed twice: strike={dup[0]}, expiry={dup[1]}, is_call={dup[2]}"
        )
    return strike_arr, expiry_arr, call_arr, mult_arr


def _per_expiry(name: str, value: ArrayLike, n: int) -> NDArray[np.float64]:
    """``value`` as one float per expiry: a scalar is repeated, a sequence must have ``n``."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ChainError(f"{name} must be one number or one per expiry ({n}), got {value!r}")
    return arr


def _grid(
    spot: float, pct: float, step: float, expiry: float, listed_at: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64]]:
    """Rows (strike, expiry, is_call, listed_at) of one expiry: a call and a put at each
    multiple of ``step`` within ``spot * (1 +/- pct / 100)`` and at the one nearest spot."""
    lo = np.ceil(spot * (1 - pct / 100) / step - 1e-9)
    hi = np.floor(spot * (1 + pct / 100) / step + 1e-9)
    centre = np.round(spot / step)
    multiples = np.union1d(np.arange(lo, hi + 1), [centre])
    strikes = multiples[multiples > 0] * step
    k = np.repeat(strikes, 2)
    c = np.tile(np.array([True, False]), strikes.size)
    return k, np.full(k.size, expiry), c, np.full(k.size, listed_at)


def _initial_interest(
    n: int, open_interest: ArrayLike | None, dealer_position: ArrayLike | None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Checked open interest and dealer position (contracts) of the n listed contracts."""
    oi = (
        np.zeros(n, np.int64)
        if open_interest is None
        else _whole_contracts(
            "open_interest", np.broadcast_to(open_interest, (n,)), allow_negative=False
        )
    )
    dealer_pos = (
        np.zeros(n, np.int64)
        if dealer_position is None
        else _whole_contracts(
            "dealer_position", np.broadcast_to(dealer_position, (n,)), allow_negative=True
        )
    )
    if np.any(np.abs(dealer_pos) > oi):
        raise ChainError(
            "|dealer_position| must be <= open_interest: dealers cannot hold more than the "
            "contracts outstanding"
        )
    return oi, dealer_pos


def _listing_times(listed_at: ArrayLike | None, expiry: NDArray[np.float64]) -> NDArray[np.float64]:
    """Checked listing times (clock seconds, >= 0 and before each contract's expiry)."""
    n = expiry.size
    if listed_at is None:
        return np.zeros(n)
    arr = np.broadcast_to(np.asarray(listed_at, dtype=float), (n,)).copy()
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr >= expiry):
        raise ChainError("listed_at must be finite clock seconds >= 0 and before the expiry")
    return arr


class OptionChain:
    """Listed calls and puts on one underlying, with per-holder positions and open interest.

    Parameters are aligned arrays of length ``n``: ``strike`` (> 0, currency), ``expiry`` (clock
    seconds, > 0), ``is_call`` (bool), ``multiplier`` (> 0, scalar or array, default 100),
    ``open_interest`` (contracts, >= 0, default 0) and ``dealer_position`` (contracts, signed,
    |dealer_position| <= open_interest). ``dealers`` are the holder keys counted as dealers; the
    first one receives ``dealer_position``. A (strike, expiry, type) may be listed once.
    ``listed_at`` (clock seconds, >= 0 and before the expiry, default 0) is when each contract
    starts trading: those at 0 trade from the start, the others once :meth:`open_listings`
    reaches them; a seeded book may hold only contracts listed from the start.
    """

    def __init__(
        self,
        strike: ArrayLike,
        expiry: ArrayLike,
        is_call: ArrayLike,
        multiplier: ArrayLike = DEFAULT_MULTIPLIER,
        open_interest: ArrayLike | None = None,
        dealer_position: ArrayLike | None = None,
        dealers: Iterable[Hashable] = (DEALER,),
        listed_at: ArrayLike | None = None,
    ) -> None:
        strike_arr, expiry_arr, call_arr, mult_arr = _listing(strike, expiry, is_call, multiplier)
        dealer_keys = tuple(dealers)
        if not dealer_keys:
            raise ChainError("dealers must name at least one holder key")
        if INITIAL_LONGS in dealer_keys or INITIAL_SHORTS in dealer_keys:
            raise ChainError(f"{INITIAL_LONGS!r} and {INITIAL_SHORTS!r} are reserved holder keys")
        n = strike_arr.size
        oi, dealer_pos = _initial_interest(n, open_interest, dealer_position)
        listed_arr = _listing_times(listed_at, expiry_arr)
        if np.any(oi[listed_arr > 0]):
            raise ChainError("open_interest must be 0 in contracts not listed from the start")

        self._strike = strike_arr
        self._expiry = expiry_arr
        self._is_call = call_arr
        self._multiplier = mult_arr
        self._dealers = frozenset(dealer_keys)
        self._positions: dict[Hashable, np.ndarray] = {}
        self._open_interest = oi.copy()
        self._dealer_position = dealer_pos.copy()
        self._expired = np.zeros(n, bool)
        self._listed_at = listed_arr
        self._listed = listed_arr <= 0.0
        if np.any(dealer_pos):
            self._positions[dealer_keys[0]] = dealer_pos.copy()
        customer_longs = oi - np.maximum(dealer_pos, 0)
        customer_shorts = oi - np.maximum(-dealer_pos, 0)
        if np.any(customer_longs):
            self._positions[INITIAL_LONGS] = customer_longs
        if np.any(customer_shorts):
            self._positions[INITIAL_SHORTS] = -customer_shorts

    @classmethod
    def listed(
        cls,
        spot: float,
        strikes_pct: float = 10.0,
        expiry_days: Sequence[int] = (0, 4, 19),
        strike_step: float | None = None,
        multiplier: float = DEFAULT_MULTIPLIER,
        dealers: Iterable[Hashable] = (DEALER,),
        listing_days: Sequence[int] | None = None,
    ) -> OptionChain:
        """A call and a put at every strike within ``spot * (1 +/- strikes_pct / 100)``.

        Strikes are the multiples of ``strike_step`` in that range (default: a 1-2-2.5-5 listing
        increment of at least 1% of spot) and always include the multiple nearest to spot;
        ``expiry_days`` are trading-day indices (0 = the close of the first day). ``strikes_pct``
        is one number or one per expiry (e.g. from :func:`covering_strikes_pct`);
        ``listing_days`` (one per expiry, default all 0) is the trading day at whose open each
        expiry starts trading. No open interest.
        """
        if not (np.isfinite(spot) and spot > 0):
            raise ChainError(f"spot must be finite and > 0, got {spot}")
        step = _nice_step(0.01 * spot) if strike_step is None else float(strike_step)
        if not (np.isfinite(step) and 0 < step <= spot):
            raise ChainError(f"strike_step must lie in (0, spot={spot}], got {strike_step}")
        days = np.asarray(expiry_days)
        if days.ndim != 1 or days.size == 0:
            raise ChainError("expiry_days must be a non-empty sequence of trading-day indices")
        if len(set(days.tolist())) != days.size:
            raise ChainError(f"expiry_days must not repeat, got {list(expiry_days)!r}")
        expiries = np.atleast_1d(expiry_of_day(days))
        pct = _per_expiry("strikes_pct", strikes_pct, days.size)
        if not (np.all(np.isfinite(pct)) and np.all(pct >= 0) and np.all(pct < 100)):
            raise ChainError(f"strikes_pct must lie in [0, 100), got {strikes_pct}")
        listing = _per_expiry(
            "listing_days", 0 if listing_days is None else listing_days, days.size
        )
        if np.any(listing < 0) or np.any(listing > days) or np.any(listing != np.round(listing)):
            raise ChainError(
                "listing_days must be whole trading days >= 0 and no later than the expiry day, "
                f"got {listing_days!r}"
            )
        parts = [
            _grid(spot, p, step, e, at * SECONDS_PER_DAY)
            for p, e, at in zip(pct, expiries, listing, strict=True)
        ]
        k, e, c, at = (np.concatenate(col) for col in zip(*parts, strict=True))
        order = np.lexsort((~c, k, e))
        return cls(
            k[order],
            e[order],
            c[order],
            multiplier=multiplier,
            dealers=dealers,
            listed_at=at[order],
        )

    # --- the table -------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._strike.size)

    @property
    def strike(self) -> np.ndarray:
        return _read_only(self._strike)

    @property
    def expiry(self) -> np.ndarray:
        return _read_only(self._expiry)

    @property
    def is_call(self) -> np.ndarray:
        return _read_only(self._is_call)

    @property
    def multiplier(self) -> np.ndarray:
        return _read_only(self._multiplier)

    @property
    def open_interest(self) -> np.ndarray:
        """Contracts outstanding per contract (sum of holders' long positions)."""
        return _read_only(self._open_interest)

    @property
    def dealer_position(self) -> np.ndarray:
        """Dealers' true net position per contract (contracts, + = dealers long)."""
        return _read_only(self._dealer_position)

    @property
    def expired(self) -> np.ndarray:
        """Contracts already removed by :meth:`expire`."""
        return _read_only(self._expired)

    @property
    def is_listed(self) -> np.ndarray:
        """Contracts listed so far (by the start or :meth:`open_listings`), expired or not."""
        return _read_only(self._listed)

    @property
    def listed_at(self) -> np.ndarray:
        """Clock seconds at which each contract starts trading."""
        return _read_only(self._listed_at)

    @property
    def dealers(self) -> frozenset[Hashable]:
        return self._dealers

    def designate_dealers(self, keys: Iterable[Hashable]) -> None:
        """Name the holder keys that count as dealers; only while no position exists yet.

        A simulator lists the chain before its participants exist and names the dealers once
        they do; changing the set later would rewrite history, so it is refused.
        """
        dealer_keys = frozenset(keys)
        if not dealer_keys:
            raise ChainError("dealers must name at least one holder key")
        if self._positions:
            raise ChainError("dealers can only be designated before any position exists")
        self._dealers = dealer_keys

    @property
    def holders(self) -> tuple[Hashable, ...]:
        return tuple(self._positions)

    def position_of(self, holder: Hashable) -> np.ndarray:
        """A copy of ``holder``'s signed position per contract (zeros for an unknown holder)."""
        pos = self._positions.get(holder)
        return np.zeros(len(self), np.int64) if pos is None else pos.copy()

    def index_of(self, strike: float, expiry: float, is_call: bool) -> int:
        """Row of the contract with this strike, expiry (clock seconds) and type."""
        if not isinstance(is_call, bool | np.bool_):
            raise ChainError(f"is_call must be a bool, got {is_call!r}")
        hit = np.flatnonzero(
            np.isclose(self._strike, strike, rtol=_STRIKE_RTOL, atol=0.0)
            & (self._expiry == expiry)
            & (self._is_call == is_call)
        )
        if hit.size == 0:
            kind = "call" if is_call else "put"
            raise ChainError(f"no listed {kind} with strike={strike} and expiry={expiry}")
        return int(hit[0])

    # --- time ------------------------------------------------------------------------------

    def live(self, now: float) -> np.ndarray:
        """Mask of contracts trading at clock time ``now``: listed, and expiry strictly later."""
        return (self._expiry > now) & ~self._expired & self._listed

    def open_listings(self, now: float) -> np.ndarray:
        """List every contract whose ``listed_at`` is at or before ``now``; returns the rows
        newly listed (calling again at the same time returns none)."""
        if not np.isfinite(now):
            raise ChainError(f"now must be finite clock seconds, got {now}")
        new = np.flatnonzero((self._listed_at <= now) & ~self._listed)
        self._listed[new] = True
        return new

    def time_to_expiry(self, now: float) -> np.ndarray:
        """Time to expiry in trading-time years (0 for expired contracts)."""
        if not np.isfinite(now):
            raise ChainError(f"now must be finite clock seconds, got {now}")
        remaining = np.where(self._expired, 0.0, np.maximum(self._expiry - now, 0.0))
        return remaining / SECONDS_PER_YEAR

    def expire(self, now: float) -> ExpiredContracts:
        """Remove contracts whose expiry is at or before ``now`` and hand back their positions.

        Settlement (cash or shares against the spot at expiry) is the caller's: the returned
        record lists every holder's position in each expired contract. Afterwards those contracts
        have no positions or open interest and refuse trades. Calling again returns nothing new.
        """
        if not np.isfinite(now):
            raise ChainError(f"now must be finite clock seconds, got {now}")
        idx = np.flatnonzero((self._expiry <= now) & ~self._expired)
        positions = {
            holder: pos[idx].copy() for holder, pos in self._positions.items() if np.any(pos[idx])
        }
        for pos in self._positions.values():
            pos[idx] = 0
        self._open_interest[idx] = 0
        self._dealer_position[idx] = 0
        self._expired[idx] = True
        return ExpiredContracts(
            indices=idx,
            strike=self._strike[idx].copy(),
            is_call=self._is_call[idx].copy(),
            multiplier=self._multiplier[idx].copy(),
            positions=positions,
        )

    # --- trading ---------------------------------------------------------------------------

    def record_trade(
        self, contract: ArrayLike, qty: ArrayLike, buyer: Hashable, seller: Hashable
    ) -> None:
        """Move ``qty`` contracts (> 0) of ``contract`` (row index) from ``seller`` to ``buyer``.

        ``contract`` and ``qty`` may be aligned arrays for several contracts traded between the
        same two holders. Open interest and the dealers' net position follow the module's rule.
        Everything is validated before any position changes.
        """
        idx = np.atleast_1d(np.asarray(contract))
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise ChainError(f"contract must be integer row indices, got {contract!r}")
        if np.any(idx < 0) or np.any(idx >= len(self)):
            raise ChainError(f"contract must lie in [0, {len(self) - 1}], got {contract!r}")
        q = np.atleast_1d(_whole_contracts("qty", qty, allow_negative=False))
        if np.any(q <= 0):
            raise ChainError("qty must be >= 1 contract")
        try:
            q = np.broadcast_to(q, idx.shape)
        except ValueError:
            raise ChainError(
                f"qty must be a scalar or match contract's length {idx.size}, got {q.size}"
            ) from None
        if buyer == seller:
            raise ChainError(f"buyer and seller must differ, both are {buyer!r}")
        if np.any(self._expired[idx]):
            raise ChainError(f"contract {idx[self._expired[idx]].tolist()} has expired")
        if not np.all(self._listed[idx]):
            raise ChainError(f"contract {idx[~self._listed[idx]].tolist()} is not listed yet")

        touched = np.unique(idx)
        for holder, sign in ((buyer, 1), (seller, -1)):
            pos = self._positions.setdefault(holder, np.zeros(len(self), np.int64))
            before = pos[touched].copy()
            np.add.at(pos, idx, sign * q)
            after = pos[touched]
            # Each side's change of long holdings moves OI: opening a long adds, closing removes.
            self._open_interest[touched] += np.maximum(after, 0) - np.maximum(before, 0)
            if holder in self._dealers:
                self._dealer_position[touched] += after - before

    # --- reports ---------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per contract: strike, expiry, expiry_day, type, multiplier, OI, dealers,
        whether it has expired and the trading day it was (or will be) listed."""
        return pd.DataFrame(
            {
                "strike": self._strike,
                "expiry": self._expiry,
                "expiry_day": (np.round(self._expiry / SECONDS_PER_DAY) - 1).astype(np.int64),
                "is_call": self._is_call,
                "multiplier": self._multiplier,
                "open_interest": self._open_interest,
                "dealer_position": self._dealer_position,
                "expired": self._expired,
                "listed_day": np.floor(self._listed_at / SECONDS_PER_DAY).astype(np.int64),
            }
        )
