"""Value revised by each trader's run of same-side trading: a square-root peak, part of it kept.

Farmer, Gerig, Lillo & Waelbroeck (2013, "How efficiency shapes market impact", Quantitative
Finance 13:1743) derive the square-root law from two conditions on market makers who see a
metaorder being worked but not its size: the price during execution is a martingale, and the
trader who splits the order pays, on average, the price at which it ends ("fair pricing"). With
metaorder sizes distributed as a power law of tail 1.5, impact then grows as the square root of
the shares executed so far and relaxes, when the order ends, to two thirds of its peak, the
permanent part; Bucci, Benzaquen, Lillo & Bouchaud (2019) measure that ratio near two thirds.

:class:`MetaorderImpact` applies that as a revision of value. An *episode* is one account's run
of aggressive trading on one side: its signed shares ``q`` (+ bought) grow with every print the
account's orders take on that side. While it runs it holds value at the peak
:func:`square_root_impact` of ``q``; it ends when the account takes liquidity on the other side
or has not taken any for ``gap`` seconds, and then ``permanent`` of its peak stays in value for
good and the rest is dropped. Each account is read separately: it is how metaorders are seen in
the data (broker codes, Toth et al. 2011) and what lets many overlapping orders each move value
by the square root of their own size rather than the flow's sum moving it linearly, so that the
variance they add grows with the volume they trade and not with its square.

An account can be read at a weight (:meth:`MetaorderImpact.set_weight`, 1 by default): its
episodes then move value by that share of the square root. The latent investors read the
registered option market makers' hedges so (``agents.latent.metaorder_dealer_weight``): a delta
hedge is flow anyone can predict from the public open interest and the price, and predictable,
uninformed flow moves prices less than flow that may be informed (Admati & Pfleiderer 1991,
"Sunshine trading"; Bessembinder, Carrion, Tuttle & Venkataraman 2016 on the anticipated rolls of
oil ETFs).

Units: shares (+ bought, - sold), log price for value, seconds. The coefficient is the peak in
log price of an episode of 1% of the daily volume (``Y * sigma_daily * 0.1`` in the square-root
law's terms).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def square_root_impact(
    q: ArrayLike, coefficient: float, daily_volume: float
) -> NDArray[np.float64]:
    """Peak impact (log price, + up) of having bought ``q`` shares (sold when negative) in one
    episode: ``coefficient * sign(q) * sqrt(|q| / (0.01 * daily_volume))``."""
    q = np.asarray(q, dtype=np.float64)
    if daily_volume <= 0.0:
        raise ValueError(f"daily_volume must be > 0, got {daily_volume}")
    return coefficient * np.sign(q) * np.sqrt(np.abs(q) / (0.01 * daily_volume))


class MetaorderImpact:
    """Every account's running episode and the value level they hold (see the module docstring).

    ``coefficient``: peak (log) of an episode of 1% of the daily volume; ``permanent``: share of
    an episode's peak kept when it ends (0..1); ``gap``: seconds without a same-side print that
    end an episode. ``level`` is the log value shift all episodes hold now: ``kept`` (what ended
    episodes left) plus the peaks of the running ones.
    """

    def __init__(self, coefficient: float, permanent: float, gap: float) -> None:
        self.coefficient = float(coefficient)
        self.permanent = float(permanent)
        self.gap = float(gap)
        self.q = np.zeros(0)  # signed shares of each account's running episode (0: none)
        self.last = np.zeros(0)  # time of each account's last same-side print
        self.weight = np.ones(0)  # the share of its square root an account's episodes move value
        self._weighted = False  # some weight is not 1 (else the plain sum, bit for bit as before)
        self.kept = 0.0
        self.level = 0.0
        self.episodes = 0  # episodes ended so far

    def _grow(self, n: int) -> None:
        if n > self.q.size:
            extra = max(n - self.q.size, self.q.size)
            self.q = np.concatenate([self.q, np.zeros(extra)])
            self.last = np.concatenate([self.last, np.zeros(extra)])
            self.weight = np.concatenate([self.weight, np.ones(extra)])

    def set_weight(self, account: int, weight: float) -> None:
        """Read ``account``'s episodes at ``weight`` (0..1) of the square root from now on."""
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"weight must be in [0, 1], got {weight}")
        if account < 0:
            raise ValueError(f"account must be >= 0, got {account}")
        self._grow(account + 1)
        self.weight[account] = weight
        self._weighted = self._weighted or weight != 1.0

    def _end(self, mask: NDArray[np.bool_], daily_volume: float) -> None:
        """End the episodes under ``mask``: keep ``permanent`` of their peaks."""
        if mask.any():
            peaks = square_root_impact(self.q[mask], self.coefficient, daily_volume)
            peaks *= self.weight[mask]
            self.kept += self.permanent * float(peaks.sum())
            self.episodes += int(mask.sum())
            self.q[mask] = 0.0

    def update(
        self, now: float, accounts: ArrayLike, signed: ArrayLike, daily_volume: float
    ) -> float:
        """Add each of ``accounts``' aggressive signed shares since the last update (``accounts``
        distinct, non-negative ints), end the episodes that reversed or went quiet, and return
        the change of ``level`` (log)."""
        acc = np.asarray(accounts, dtype=np.int64)
        d = np.asarray(signed, dtype=np.float64)
        if acc.size:
            self._grow(int(acc.max()) + 1)
        self._end((self.q != 0.0) & (now - self.last > self.gap), daily_volume)
        if acc.size:
            flip = np.zeros(self.q.size, dtype=bool)
            flip[acc] = self.q[acc] * d < 0.0
            self._end(flip, daily_volume)
            self.q[acc] += d
            self.last[acc[d != 0.0]] = now
        before = self.level
        running = square_root_impact(self.q, self.coefficient, daily_volume)
        if self._weighted:
            running *= self.weight
        self.level = self.kept + float(running.sum())
        return self.level - before
