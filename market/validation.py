"""Declared ranges: every configurable field and checked argument states its range once, here.

A config dataclass declares each field with :func:`param`, which stores a :class:`Spec` (range,
open or closed ends, allowed choices, unit, one-line meaning) in the field's metadata::

    @dataclass
    class BackgroundConfig(Validated):
        config_path: ClassVar[str] = "agents.background"
        n: int = param(905, lo=0, hi=1_000_000, unit="agents", doc="background traders")

:class:`Validated` checks every declared field when the object is built (OmegaConf builds the
objects from the composed config before any simulation work), and the parameter tables of the
documentation are generated from the same specs (:func:`parameter_rows`), so a range is never
written twice. A bound may name a sibling field (``lo="horizon_min"``) for ranges that depend on
another parameter. Pure functions check their arguments with :func:`check_range` and
:func:`check_array`.

Errors are :class:`ConfigError` (a ``ValueError``) naming the field by its full path and the
allowed range, e.g. ``agents.background.n must be in [0, 1000000], got -1``.

This module is a leaf: it imports nothing from the project.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

Bound = float | int | str | None


class ConfigError(ValueError):
    """A configuration value or argument outside its allowed range."""


@dataclass(frozen=True)
class Spec:
    """What a field may hold and what it means.

    ``lo``/``hi``: inclusive bounds unless ``lo_open``/``hi_open``; a string names a sibling field
    whose value is the bound; ``None`` is unbounded. ``choices``: the allowed values (strings or
    an Enum's values) instead of a numeric range; with neither bounds nor choices nothing is
    checked (the spec only documents the field). ``optional``: ``None`` is allowed. ``unit`` and
    ``doc`` document the field. ``plausible``: ``(lo, hi)``, the values a real market makes
    believable (inside the allowed range, stated with its source in ``doc``); a calibration may
    search only inside it (None: not declared, so a calibration may not search the field).
    """

    lo: Bound = None
    hi: Bound = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[Any, ...] | None = None
    optional: bool = False
    unit: str = ""
    doc: str = ""
    plausible: tuple[float, float] | None = None

    @property
    def constrained(self) -> bool:
        """Whether there is anything to check: a bound or choices.

        A spec with neither only documents its field (a name, a description, a mapping, a list of
        sub-configs); such a field's rules, if any, live in its class's ``check``.
        """
        return self.choices is not None or self.lo is not None or self.hi is not None

    def describe(self, lo: Any = None, hi: Any = None) -> str:
        """The allowed values as an error message and the docs state them."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if not self.constrained and lo is None and hi is None:
            return "any"
        lo = self.lo if lo is None else lo
        hi = self.hi if hi is None else hi
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        return f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"

    def describe_plausible(self) -> str:
        """The plausible range as the docs and errors state it (empty if none is declared)."""
        if self.plausible is None:
            return ""
        return f"[{self.plausible[0]}, {self.plausible[1]}]"


def _check_plausible(spec: Spec) -> None:
    """A declared plausible range must be ``lo <= hi`` and inside the numeric allowed range: a
    declaration that contradicts itself is a mistake in the code, caught when the class is made."""
    if spec.plausible is None:
        return
    lo, hi = spec.plausible
    if not lo <= hi:
        raise ConfigError(f"plausible range {spec.plausible} must have lo <= hi")
    for v in (lo, hi):
        try:
            check_range(
                "plausible bound",
                v,
                *_numeric(spec.lo, spec.hi),
                lo_open=spec.lo_open,
                hi_open=spec.hi_open,
            )
        except ConfigError as exc:
            raise ConfigError(
                f"plausible range {spec.plausible} must lie inside the allowed range "
                f"{spec.describe()}: {exc}"
            ) from None


def _numeric(lo: Bound, hi: Bound) -> tuple[Any, Any]:
    """The bounds that are numbers (a bound naming a sibling field is not known here)."""
    return (None if isinstance(lo, str) else lo, None if isinstance(hi, str) else hi)


def param(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    lo: Bound = None,
    hi: Bound = None,
    lo_open: bool = False,
    hi_open: bool = False,
    choices: Iterable[Any] | type[Enum] | None = None,
    optional: bool = False,
    unit: str = "",
    doc: str = "",
    plausible: tuple[float, float] | None = None,
) -> Any:
    """A dataclass field with its declared range (see the module docstring).

    ``plausible``: ``(lo, hi)`` inside the allowed range, the values a real market makes
    believable; state its source in ``doc``. Calibrations search only inside it.
    """
    if isinstance(choices, type) and issubclass(choices, Enum):
        choices = tuple(m.value for m in choices)
    spec = Spec(
        lo,
        hi,
        lo_open,
        hi_open,
        None if choices is None else tuple(choices),
        optional,
        unit,
        doc,
        None if plausible is None else (plausible[0], plausible[1]),
    )
    _check_plausible(spec)
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata={"spec": spec})
    return dataclasses.field(default=default, metadata={"spec": spec})


def param_from(cls: type, name: str) -> Any:
    """A field declared as ``cls``'s field ``name`` is: the same default, range, unit, plausible
    range and doc. A config that carries a component's parameter under its own name keeps one
    declaration, checked and documented in both places from it."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name not in fields or spec_of(fields[name]) is None:
        raise TypeError(f"{cls.__name__} has no declared field {name!r}")
    f = fields[name]
    return dataclasses.field(default=f.default, metadata={"spec": spec_of(f)})


def spec_of(field: dataclasses.Field[Any]) -> Spec | None:
    """The :class:`Spec` declared for ``field``, if any."""
    return field.metadata.get("spec")


def check_range(
    name: str,
    value: Any,
    lo: Any = None,
    hi: Any = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    """Raise :class:`ConfigError` naming ``name`` unless ``value`` is a number in the range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if math.isnan(value):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    bad = (lo is not None and (value <= lo if lo_open else value < lo)) or (
        hi is not None and (value >= hi if hi_open else value > hi)
    )
    if bad:
        rng = Spec(lo, hi, lo_open, hi_open).describe()
        raise ConfigError(f"{name} must be in {rng}, got {value!r}")


def check_array(
    name: str,
    values: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> NDArray[np.float64]:
    """``values`` as a float array, every element finite and in the range (else ConfigError)."""
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{name} must be finite, got {values!r}")
    low = None if lo is None else (arr <= lo if lo_open else arr < lo)
    high = None if hi is None else (arr >= hi if hi_open else arr > hi)
    for mask in (low, high):
        if mask is not None and np.any(mask):
            bad = float(arr[mask].flat[0])  # a plain float prints as -2.0, not np.float64(-2.0)
            rng = Spec(lo, hi, lo_open, hi_open).describe()
            raise ConfigError(f"{name} must be in {rng}, got {bad!r}")
    return arr


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Raise :class:`ConfigError` naming ``name`` unless ``value`` is one of ``choices``."""
    raw = getattr(value, "value", value)  # an Enum member counts as its value
    if raw not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"{name} must be one of {allowed}; got {raw!r}")


def _bound(obj: Any, bound: Bound) -> Any:
    return getattr(obj, bound) if isinstance(bound, str) else bound


def validate(obj: Any, path: str = "") -> None:
    """Check every declared field of the dataclass ``obj``; errors name ``path.field``."""
    for f in dataclasses.fields(obj):
        spec = spec_of(f)
        if spec is None:
            continue
        name = f"{path}.{f.name}" if path else f.name
        value = getattr(obj, f.name)
        if not spec.constrained or (value is None and spec.optional):
            continue
        if spec.choices is not None:
            check_choice(name, value, spec.choices)
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        lo, hi = _bound(obj, spec.lo), _bound(obj, spec.hi)
        for i, v in enumerate(values):
            where = name if values is not value else f"{name}[{i}]"
            check_range(where, v, lo, hi, lo_open=spec.lo_open, hi_open=spec.hi_open)


class Validated:
    """Mixin for config dataclasses: declared ranges are checked when the object is built.

    Subclasses set ``config_path`` (the config tree key, e.g. ``"agents.background"``) and may
    override :meth:`check` for rules that involve several fields; it runs after the ranges.
    """

    config_path: ClassVar[str] = ""

    def __post_init__(self) -> None:
        validate(self, self.config_path)
        self.check()

    def check(self) -> None:
        """Cross-field rules (ranges are already checked). Raise ConfigError naming the field."""


def parameter_rows(cls: type) -> list[dict[str, str]]:
    """One row per declared field of the dataclass ``cls``: name, default, unit, range, plausible
    range (empty if none), meaning."""
    rows = []
    for f in dataclasses.fields(cls):
        spec = spec_of(f)
        if spec is None:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = "required"
        default = getattr(default, "value", default)
        rng = spec.describe()
        if spec.optional:
            rng += " or null"
        rows.append(
            {
                "name": f.name,
                "default": repr(default) if isinstance(default, str) else str(default),
                "unit": spec.unit,
                "range": rng,
                "plausible": spec.describe_plausible(),
                "doc": spec.doc,
            }
        )
    return rows


def parameter_table(cls: type, path: str = "") -> str:
    """The Markdown table of :func:`parameter_rows` (the docs' parameter tables)."""
    lines = [
        "| parameter | default | unit | allowed | plausible | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for r in parameter_rows(cls):
        name = f"{path}.{r['name']}" if path else r["name"]
        # a bare "|" (as in `|gamma|`) would end the cell, even inside backticks
        cells = [f"`{name}`", r["default"], r["unit"], r["range"], r["plausible"], r["doc"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
