"""A multi-timescale memory of realised variance, shared by the participants that remember storms.

``sigma**2 = (1 - sum_k w_k) * v + sum_k w_k * RV_k``: ``v`` the latest fast variance estimate
(the market's 5-minute EWMA, annualised), ``RV_k`` exponential averages of ``v`` with log-spaced
half-lives ``h_k`` and weights ``w_k ~ k ** -alpha`` (k = 1 the shortest window). A superposition
of exponentials with log-spaced rates and power-law weights decays roughly as a power law over the
range the half-lives cover (Zumbach & Lynch 2001, Physica A 298:521; Corsi 2009's HAR; Borland &
Bouchaud 2005), so a burst of volatility is remembered for as long as the longest window.

Pure Python, no market access: callers feed it what they observe. Units: variances annualised
(0.04 = 20% volatility squared), half-lives and time steps in seconds.
"""

from __future__ import annotations


def log_spaced(shortest: float, longest: float, k: int) -> list[float]:
    """``k`` half-lives (s) log-spaced from ``shortest`` to ``longest`` (``[shortest]`` for one)."""
    if k <= 1:
        return [shortest]
    ratio = longest / shortest
    return [shortest * ratio ** (i / (k - 1)) for i in range(k)]


def power_weights(k: int, alpha: float, total: float) -> list[float]:
    """``w_j = total * j ** -alpha / sum_i i ** -alpha`` for ``j = 1..k``, shortest window first."""
    raw = [(j + 1) ** -alpha for j in range(k)]
    norm = sum(raw)
    return [total * r / norm for r in raw]


class VolatilityMemory:
    """Exponential averages of a fast variance over several windows, blended by fixed weights.

    ``half_lives`` (s) and ``weights`` (same length, summing to at most 1) define the windows; the
    rest of the weight, ``fast_weight`` (``1 - sum(weights)`` unless given), goes to the fast
    variance itself. ``var`` holds the windows' averages
    (annualised variances, shortest first), None until the first :meth:`update`, which starts
    every window at the variance it is given (no warm-up transient).
    """

    def __init__(
        self, half_lives: list[float], weights: list[float], fast_weight: float | None = None
    ) -> None:
        if len(half_lives) != len(weights):
            raise ValueError("volatility memory: one weight per half-life")
        self.half_lives = list(half_lives)
        self.weights = list(weights)
        self.fast_weight = 1.0 - sum(weights) if fast_weight is None else fast_weight
        self.var: list[float] | None = None
        self._keep_dt = -1.0
        self._keep: list[float] = []

    def update(self, fast_var: float, dt: float) -> float:
        """Feed ``fast_var`` (annualised variance) observed ``dt`` seconds after the last update;
        return the remembered ``sigma**2``. O(windows); the decay factors are cached for a
        repeated ``dt`` (a model that updates at every step of a fixed length)."""
        rv = self.var
        if rv is None:
            rv = self.var = [fast_var] * len(self.weights)
        if dt != self._keep_dt:
            self._keep_dt = dt
            self._keep = [0.5 ** (dt / h) for h in self.half_lives]
        sigma2 = self.fast_weight * fast_var
        for k, (w, keep) in enumerate(zip(self.weights, self._keep, strict=True)):
            rv[k] = v = keep * rv[k] + (1.0 - keep) * fast_var
            sigma2 += w * v
        return sigma2
