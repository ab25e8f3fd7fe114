"""The search space: each searched field's declared range and plausible range, checked before any
run, and the Optuna distributions confined to the plausible ranges.

A searched key is a dotted config key (``agents.insurers.wealth_fraction``) whose field is declared
with :func:`market.validation.param` on one of the config classes; a scenario event's field
(``scenario.events.program.participation``) takes the declaration of its kind's spec
(:data:`EVENT_SPECS`). A field without a declared plausible range cannot be searched: a fit must
never wander where a real market could not be, and the range it may use is stated once, next to
the field, with its source.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from omegaconf import DictConfig, OmegaConf

from agents.desk.orders import ParentOrderSpec
from experiments.calibrate.config import CalibrationConfig, SearchParam
from experiments.config import RunConfig
from experiments.events import FundamentalShockSpec, FundamentalVolSpec
from market.validation import ConfigError, Spec, spec_of

#: event kind -> the Validated class whose declarations its fields take
EVENT_SPECS: dict[str, type] = {
    "parent_order": ParentOrderSpec,
    "fundamental_shock": FundamentalShockSpec,
    "fundamental_vol": FundamentalVolSpec,
}


def _field_spec(cls: type, name: str) -> tuple[Spec | None, Any]:
    """The spec of field ``name`` of dataclass ``cls`` and the field's type, or (None, None)."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return spec_of(f), f
    return None, None


def _config_class(path: list[str]) -> type | None:
    """The config dataclass at ``path`` below :class:`RunConfig` (None if it is no dataclass)."""
    cls: type = RunConfig
    for part in path:
        f = next((f for f in dataclasses.fields(cls) if f.name == part), None)
        if f is None or f.default_factory is dataclasses.MISSING:
            return None
        value = f.default_factory()  # the sub-config's class, built with its defaults
        if not dataclasses.is_dataclass(value):
            return None
        cls = type(value)
    return cls


def field_spec(key: str, cfg: DictConfig | None = None) -> Spec:
    """The declared :class:`Spec` of the config field ``key`` (dotted).

    Event fields are looked up through the event's kind in the composed ``cfg``. Raises
    :class:`ConfigError` naming ``key`` if no declaration exists.
    """
    parts = key.split(".")
    if parts[:2] == ["scenario", "events"] and len(parts) == 4:
        kind = OmegaConf.select(cfg, f"scenario.events.{parts[2]}.kind") if cfg else None
        kind = getattr(kind, "value", kind)
        spec_cls = EVENT_SPECS.get(str(kind))
        if spec_cls is None:
            raise ConfigError(
                f"calibrate.parameters: {key}: events of kind {kind!r} declare no ranges "
                f"(searchable kinds: {sorted(EVENT_SPECS)})"
            )
        spec, _ = _field_spec(spec_cls, parts[3])
    else:
        cls = _config_class(parts[:-1])
        spec = None if cls is None else _field_spec(cls, parts[-1])[0]
    if spec is None:
        raise ConfigError(f"calibrate.parameters: {key} is not a declared config field")
    return spec


def _inside(value: float, spec: Spec) -> bool:
    """``value`` inside the numeric allowed range of ``spec``."""
    lo = None if isinstance(spec.lo, str) else spec.lo
    hi = None if isinstance(spec.hi, str) else spec.hi
    if lo is not None and (value <= lo if spec.lo_open else value < lo):
        return False
    return not (hi is not None and (value >= hi if spec.hi_open else value > hi))


def search_range(key: str, sp: SearchParam, spec: Spec) -> tuple[float, float]:
    """The range searched for ``key``: ``sp``'s ends, null ends taken from the plausible range.

    Refused (:class:`ConfigError` naming the field, its plausible and its allowed range) if the
    field declares no plausible range, or the range leaves it, or is empty, or is not > 0 with
    ``log``.
    """
    if spec.plausible is None:
        raise ConfigError(
            f"calibrate.parameters: {key} declares no plausible range (allowed "
            f"{spec.describe()}); declare one with its source next to the field to search it"
        )
    p_lo, p_hi = spec.plausible
    lo = p_lo if sp.low is None else sp.low
    hi = p_hi if sp.high is None else sp.high
    if not (p_lo <= lo and hi <= p_hi) or not (_inside(lo, spec) and _inside(hi, spec)):
        raise ConfigError(
            f"calibrate.parameters: {key} searched over [{lo}, {hi}] leaves its plausible "
            f"range {spec.describe_plausible()} (allowed {spec.describe()})"
        )
    if not lo < hi:
        raise ConfigError(f"calibrate.parameters: {key} search range [{lo}, {hi}] is empty")
    if sp.log and lo <= 0:
        raise ConfigError(f"calibrate.parameters: {key} searched in log space needs low > 0")
    if sp.type == "int" and math.ceil(lo) > math.floor(hi):
        raise ConfigError(f"calibrate.parameters: {key} range [{lo}, {hi}] holds no integer")
    return lo, hi


def distributions(cal: CalibrationConfig, cfg: DictConfig) -> dict[str, Any]:
    """Optuna distributions of every searched key, each inside its plausible range (checked)."""
    from optuna.distributions import FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for key, sp in cal.parameters.items():
        if OmegaConf.select(cfg, key, default=None) is None and not _is_optional(key, cfg):
            raise ConfigError(f"calibrate.parameters: {key} is not a key of the composed config")
        lo, hi = search_range(key, sp, field_spec(key, cfg))
        if sp.type == "int":
            out[key] = IntDistribution(math.ceil(lo), math.floor(hi), log=sp.log)
        else:
            out[key] = FloatDistribution(float(lo), float(hi), log=sp.log)
    return out


#: the most news one day may carry in a fit, |log move| summed over its fundamental shocks: the
#: largest daily moves of the S&P 500 since 1950 outside 19 October 1987 (-12.0% on 16 March
#: 2020, +11.6% on 13 October 2008), each a day of many pieces of news (docs/calibration.md)
DAILY_NEWS_LIMIT = 0.12


def check_daily_news(cfg: DictConfig, dists: dict[str, Any]) -> None:
    """Refuse a search in which one day's fundamental shocks could add up to more news than
    :data:`DAILY_NEWS_LIMIT`: each plausible on its own, several -10% shocks on one day are not.

    A searched shock's size counts at the largest magnitude its search allows; the others at
    their configured size. Raises :class:`ConfigError` naming the day, its total and its shocks.
    """
    per_day: dict[int, list[tuple[str, float]]] = {}
    for name, ev in (OmegaConf.select(cfg, "scenario.events") or {}).items():
        if str(getattr(ev.get("kind"), "value", ev.get("kind"))) != "fundamental_shock":
            continue
        size = abs(float(ev.get("size", 0.0)))
        dist = dists.get(f"scenario.events.{name}.size")
        if dist is not None:
            size = max(abs(dist.low), abs(dist.high))
        per_day.setdefault(int(ev.get("day", 0)), []).append((str(name), size))
    for day, shocks in sorted(per_day.items()):
        total = sum(size for _, size in shocks)
        if total > DAILY_NEWS_LIMIT + 1e-12:
            names = ", ".join(f"{n} {v:g}" for n, v in shocks)
            raise ConfigError(
                f"calibrate.parameters: day {day}'s fundamental shocks could add up to "
                f"{total:g} of news ({names}), more than the plausible {DAILY_NEWS_LIMIT:g} a "
                "day (the largest daily index moves outside 1987)"
            )


def _is_optional(key: str, cfg: DictConfig) -> bool:
    """A key present with a null value (an optional field left unset)."""
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent, default=None) if parent else cfg
    return isinstance(node, DictConfig) and leaf in node


def format_value(value: Any) -> str:
    """A sampled value as an override's value (floats to 10 significant digits, enough for any
    field and stable as text)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    return repr(float(f"{float(value):.10g}"))
