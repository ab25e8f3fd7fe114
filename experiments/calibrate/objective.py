"""The objective: the weighted distance of a trial's metrics to their reference figures.

Pure functions of numbers, no simulation: :func:`distance` is what Optuna minimises,
:func:`metric_rows` what calibration.md and trials.csv report per metric.

For metric ``i`` with mean ``m_i`` over the trial's seeds, reference ``ref_i``, scale ``s_i``
(the metric's own unit: the size of a miss worth one unit of distance) and weight ``w_i``:

- ``squared``: ``D = sum_i w_i * ((m_i - ref_i) / s_i) ** 2``
- ``absolute``: ``D = sum_i w_i * |m_i - ref_i| / s_i``

``D = 0`` is a perfect fit. A metric that is NaN on every seed (the mechanism did not happen, the
section does not apply) makes the distance NaN: the trial is recorded as failed, never scored as
a good fit by leaving the metric out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from experiments.calibrate.config import CalibrationConfig, MetricTarget
from market.validation import ConfigError


@dataclass(frozen=True)
class Target:
    """A metric's reference, scale, weight and tolerance, resolved (all in the metric's unit)."""

    name: str
    reference: float
    scale: float
    weight: float
    tolerance: float


def resolve_targets(cal: CalibrationConfig, reference: Mapping[str, float]) -> list[Target]:
    """Each metric of ``cal`` with its reference (``cal``'s own, else the scenario's ``reference``
    figure) and tolerance (null: the scale). Raises :class:`ConfigError` for a metric with no
    reference figure anywhere."""
    out = []
    for name, mt in cal.metrics.items():
        ref = mt.reference if mt.reference is not None else reference.get(name)
        if ref is None:
            raise ConfigError(
                f"calibrate.metrics.{name}: no reference figure (scenario {cal.scenario!r} "
                f"has {sorted(reference)}); give calibrate.metrics.{name}.reference"
            )
        out.append(_target(name, mt, float(ref)))
    return out


def _target(name: str, mt: MetricTarget, ref: float) -> Target:
    tol = mt.scale if mt.tolerance is None else mt.tolerance
    return Target(name, ref, mt.scale, mt.weight, tol)


def term(value: float, target: Target, form: str = "squared") -> float:
    """One metric's contribution to the distance (NaN if ``value`` is NaN)."""
    z = (value - target.reference) / target.scale
    return target.weight * (z * z if form == "squared" else abs(z))


def distance(means: Mapping[str, float], targets: Sequence[Target], form: str = "squared") -> float:
    """The weighted distance of ``means`` (metric -> mean over seeds) to ``targets``.

    A metric absent from ``means`` counts as NaN, and any NaN term makes the distance NaN.

    >>> t = [Target("a", 1.0, 2.0, 1.0, 2.0), Target("b", -5.0, 1.0, 0.5, 1.0)]
    >>> distance({"a": 3.0, "b": -7.0}, t)
    3.0
    >>> distance({"a": 3.0, "b": -7.0}, t, "absolute")
    2.0
    """
    if form not in ("squared", "absolute"):
        raise ConfigError(f"calibrate.form must be 'squared' or 'absolute', got {form!r}")
    total = 0.0
    for t in targets:
        value = float(means.get(t.name, math.nan))
        total += term(value, t, form)
    return total


def mean_over_seeds(per_seed: Sequence[Mapping[str, float]], names: Sequence[str]) -> dict:
    """Each metric's mean over the seeds where it is a number (NaN where it is NaN on all)."""
    out = {}
    for name in names:
        values = [float(s.get(name, math.nan)) for s in per_seed]
        finite = [v for v in values if math.isfinite(v)]
        out[name] = sum(finite) / len(finite) if finite else math.nan
    return out


def metric_rows(
    means: Mapping[str, float], targets: Sequence[Target], form: str = "squared"
) -> list[dict]:
    """Per metric: mean, reference, ratio (mean / reference; NaN for a zero reference), the miss
    ``mean - reference``, tolerance, its term of the distance, and ``miss`` (``|m - ref| >
    tolerance``, or the metric is NaN)."""
    rows = []
    for t in targets:
        m = float(means.get(t.name, math.nan))
        gap = m - t.reference
        rows.append(
            {
                "metric": t.name,
                "mean": m,
                "reference": t.reference,
                "ratio": m / t.reference if t.reference != 0 else math.nan,
                "gap": gap,
                "tolerance": t.tolerance,
                "term": term(m, t, form),
                "miss": not (math.isfinite(gap) and abs(gap) <= t.tolerance),
            }
        )
    return rows
