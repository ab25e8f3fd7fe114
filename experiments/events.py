"""Scheduled scenario events: what each one is (:class:`EventConfig`) and what it does.

An event fires at the first step whose clock time reaches ``day * SECONDS_PER_DAY +
time_of_day()``; events due at the same time fire in the order the scenario lists them.
:func:`fire` dispatches on the kind to one named function per kind, each acting on the
:class:`EventTarget` (the simulator) and nothing else.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, Protocol

from agents.desk.orders import ParentOrderSpec
from market.exchange.clock import SECONDS_PER_DAY, wall_clock
from market.options.surface import VolSurface
from market.validation import ConfigError, Validated, check_range, param


class EventKind(Enum):
    """Scheduled scenario events (lower-case names so overrides read ``kind=parent_order``)."""

    fundamental_shock = "fundamental_shock"
    parent_order = "parent_order"
    surface_shift = "surface_shift"
    rule_change = "rule_change"
    fundamental_vol = "fundamental_vol"


@dataclass
class FundamentalShockSpec(Validated):
    """The one place a ``fundamental_shock`` event's size is declared."""

    config_path: ClassVar[str] = "fundamental_shock"

    size: float = param(
        0.0,
        lo=-2.0,
        hi=2.0,
        unit="log return",
        doc="move of the fundamental value (-0.03 = -3%); plausible: one piece of news moves "
        "an index by at most about 10% (the S&P 500's worst news days: -12% on 16 March 2020, "
        "-9.5% on 12 March 2020)",
        plausible=(-0.1, 0.1),
    )


@dataclass
class FundamentalVolSpec(Validated):
    """The one place a ``fundamental_vol`` event's new volatility is declared."""

    config_path: ClassVar[str] = "fundamental_vol"

    value: float = param(
        0.0,
        lo=0.0,
        hi=5.0,
        unit="annualised",
        doc="the fundamental value's volatility from then on; plausible: the S&P 500's "
        "realised volatility, about 5% to 80% (VIX 9-82)",
        plausible=(0.05, 0.8),
    )


@dataclass
class EventConfig:
    """One scheduled event at ``day`` (0-based) and wall-clock ``at`` ("HH:MM" or "HH:MM:SS").

    fundamental_shock: ``size`` is a log return applied to the fundamental value (-0.03 = -3%).
    parent_order: ``side`` (+1 buy, -1 sell), ``qty`` shares, ``algo`` "pov" or "twap",
    ``participation`` (POV rate of recent volume), ``horizon_s`` (TWAP horizon in seconds),
    ``limit_price`` (currency; null = none), ``urgency`` in [0, 1].
    surface_shift: ``dlevel`` (vol points as a fraction, 0.05 = +5 vol), ``dskew``, ``dterm``.
    rule_change: ``target`` names a rule parameter (e.g. "stop_logic.max_move"), ``value``
    its new value.
    fundamental_vol: ``value`` is the fundamental value's new volatility (annualised, 0.3 = 30%)
    from then on (a volatility regime that builds up).

    ``scheduled``: the event is on the public calendar (a macro print, an auction), so an
    outside observer such as the desk's HPI knows its time in advance; unscheduled news (the
    default) is seen only through its effect on prices.
    """

    kind: EventKind = EventKind.fundamental_shock
    day: int = 0
    at: str = "10:00"
    size: float = 0.0
    side: int = 0
    qty: int = 0
    algo: str = "pov"
    participation: float = 0.1
    horizon_s: float = 1800.0
    limit_price: float | None = None
    urgency: float = 0.5
    dlevel: float = 0.0
    dskew: float = 0.0
    dterm: float = 0.0
    target: str = ""
    value: float = 0.0
    scheduled: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.kind, EventKind):  # as read from a config file
            try:
                self.kind = EventKind(self.kind)
            except ValueError:
                allowed = ", ".join(k.value for k in EventKind)
                raise ConfigError(
                    f"scenario.events[].kind must be one of {allowed}, got {self.kind!r}"
                ) from None

    #: the fields every event has, whatever its kind
    COMMON_FIELDS: ClassVar[tuple[str, ...]] = ("kind", "day", "at", "scheduled")
    #: the fields each kind reads; any other field on an event of that kind would be ignored
    #: in silence, so :meth:`validate` and :func:`named_events` refuse it
    KIND_FIELDS: ClassVar[dict[EventKind, tuple[str, ...]]] = {
        EventKind.fundamental_shock: ("size",),
        EventKind.parent_order: (
            "side",
            "qty",
            "algo",
            "participation",
            "horizon_s",
            "limit_price",
            "urgency",
        ),
        EventKind.surface_shift: ("dlevel", "dskew", "dterm"),
        EventKind.rule_change: ("target", "value"),
        EventKind.fundamental_vol: ("value",),
    }

    def time_of_day(self) -> float:
        """Seconds since the open of the event's day (:func:`market.exchange.clock.wall_clock`:
        minutes and seconds below 60, between 09:30 and 16:00)."""
        return wall_clock(self.at)

    def allowed_fields(self) -> tuple[str, ...]:
        """The fields an event of this kind may set: the common ones and its kind's."""
        return self.COMMON_FIELDS + self.KIND_FIELDS[self.kind]

    def check_fields(self, where: str, given: Iterable[str] | None = None) -> None:
        """Refuse fields that do not belong to the event's kind, naming the first.

        ``given``: the field names a config file or override set (all of them are checked);
        None (an event built in code): the fields that differ from their defaults.
        """
        allowed = self.allowed_fields()
        if given is None:
            defaults = EventConfig(kind=self.kind)
            given = [
                f.name
                for f in dataclasses.fields(self)
                if getattr(self, f.name) != getattr(defaults, f.name)
            ]
        for key in given:
            if key not in allowed:
                known = {f.name for f in dataclasses.fields(self)}
                kind = self.kind.value
                what = (
                    f"is not read by a {kind} event (it would be ignored)"
                    if key in known
                    else "is not an event field"
                )
                raise ConfigError(
                    f"{where}.{key} {what}; a {kind} event's fields are " + ", ".join(allowed)
                )

    def validate(self, where: str, days: int) -> None:
        check_range(f"{where}.day", self.day, 0, days - 1)
        try:
            tod = self.time_of_day()
        except ValueError as exc:
            raise ConfigError(f"{where}.at: {exc}") from exc
        if tod >= SECONDS_PER_DAY:
            # an event at 16:00 would fire at the next day's open, or never on the last day
            raise ConfigError(f"{where}.at must be before the close (16:00), got {self.at!r}")
        self.check_fields(where)
        if self.kind is EventKind.parent_order:
            # a parent order's ranges live once, on the desk's ParentOrderSpec
            try:
                ParentOrderSpec.from_event(self)
            except ConfigError as exc:
                prefix = f"{ParentOrderSpec.config_path}."
                raise ConfigError(str(exc).replace(prefix, f"{where}.", 1)) from None
        elif self.kind is EventKind.fundamental_shock:
            _validate_spec(FundamentalShockSpec, where, size=self.size)
        elif self.kind is EventKind.rule_change and not self.target:
            raise ConfigError(f"{where}.target must name a rule parameter for a rule_change event")
        elif self.kind is EventKind.fundamental_vol:
            _validate_spec(FundamentalVolSpec, where, value=self.value)
        if not isinstance(self.scheduled, bool):
            raise ConfigError(f"{where}.scheduled must be true or false, got {self.scheduled!r}")


def _validate_spec(cls: type, where: str, **fields: Any) -> None:
    """Check an event's fields against their declarations in ``cls``, errors naming ``where``."""
    try:
        cls(**fields)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace(f"{cls.config_path}.", f"{where}.", 1)) from None


class EventTarget(Protocol):
    """What events act on: the fundamental value (currency) and its volatility, the implied
    volatility surface, the trading rules by name and the desks that take parent orders."""

    fundamental: float
    public_news: float
    surface: VolSurface
    rules: Mapping[str, Any]
    populations: Mapping[str, Iterable[Any]]

    def set_fundamental_vol(self, vol: float) -> None: ...


_NAME = re.compile(r"[A-Za-z0-9_]+")


def named_events(events: Any) -> dict[str, EventConfig]:
    """Scenario events as ``{name: EventConfig}`` in listing order.

    ``events`` is a mapping of names to events (or to their fields, as read from a config file);
    a plain sequence, as code may build one, names each event by its position ("0", "1", ...).
    A name outside ``[A-Za-z0-9_]+`` raises :class:`ConfigError`.
    """
    items: Iterable[tuple[Any, Any]]
    items = events.items() if isinstance(events, Mapping) else enumerate(events or ())
    out: dict[str, EventConfig] = {}
    for key, ev in items:
        name = str(key)
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"scenario.events: event names must be letters, digits and _, got {name!r}"
            )
        out[name] = ev if isinstance(ev, EventConfig) else _event_from_fields(name, dict(ev))
    return out


def _event_from_fields(name: str, fields: dict[str, Any]) -> EventConfig:
    """An event from the fields a config file or override gave, refusing any field its kind
    does not read (an order's ``qty`` on a ``fundamental_shock`` would be ignored in silence)."""
    where = f"scenario.events.{name}"
    known = {f.name for f in dataclasses.fields(EventConfig)}
    ev = EventConfig(**{k: v for k, v in fields.items() if k in known})
    ev.check_fields(where, fields)
    return ev


def schedule(events: Any) -> list[tuple[float, int, EventConfig]]:
    """``(clock time, listing order, event)`` sorted by time, ties in listing order.

    ``events`` as :func:`named_events` takes them.
    """
    q = [
        (ev.day * SECONDS_PER_DAY + ev.time_of_day(), i, ev)
        for i, ev in enumerate(named_events(events).values())
    ]
    q.sort(key=lambda x: (x[0], x[1]))
    return q


def scheduled_times(events: Any) -> list[float]:
    """Clock seconds of the events marked ``scheduled`` (the public calendar), in listing order.

    ``events`` as :func:`named_events` takes them.
    """
    return [
        ev.day * SECONDS_PER_DAY + ev.time_of_day()
        for ev in named_events(events).values()
        if ev.scheduled
    ]


def shock_fundamental(ev: EventConfig, target: EventTarget) -> None:
    """Move the fundamental value by the log return ``ev.size``: public news."""
    target.fundamental *= math.exp(ev.size)
    target.public_news += ev.size


def send_parent_order(ev: EventConfig, target: EventTarget) -> None:
    """Hand the parent order to every execution desk, as the desk's own
    :class:`agents.desk.orders.ParentOrderSpec` (its fields are checked there)."""
    desks = list(target.populations["desk"])
    if not desks:
        return  # no desk in this run: the order goes nowhere and is not checked
    spec = ParentOrderSpec.from_event(ev)
    for desk in desks:
        desk.add_parent(spec)


def shift_surface(ev: EventConfig, target: EventTarget) -> None:
    """Shift the surface's level, skew and term slope (zero shifts leave it as it is)."""
    s = target.surface
    if ev.dlevel:
        s = s.shift_level(ev.dlevel)
    if ev.dskew:
        s = s.shift_skew(ev.dskew)
    if ev.dterm:
        s = s.shift_term(ev.dterm)
    target.surface = s


def change_rule(ev: EventConfig, target: EventTarget) -> None:
    """Set the rule parameter ``ev.target`` ("rule.parameter") to ``ev.value``, keeping its type."""
    rule_name, _, param = ev.target.partition(".")
    rule = target.rules.get(rule_name)
    if rule is None or not hasattr(rule, param):
        raise ValueError(f"rule_change target {ev.target!r} names no rule parameter")
    setattr(rule, param, type(getattr(rule, param))(ev.value))


def set_fundamental_vol(ev: EventConfig, target: EventTarget) -> None:
    """The fundamental value's volatility from now on (annualised)."""
    target.set_fundamental_vol(ev.value)


#: event kind -> what firing it does
ACTIONS: dict[EventKind, Callable[[EventConfig, EventTarget], None]] = {
    EventKind.fundamental_shock: shock_fundamental,
    EventKind.parent_order: send_parent_order,
    EventKind.surface_shift: shift_surface,
    EventKind.rule_change: change_rule,
    EventKind.fundamental_vol: set_fundamental_vol,
}


def fire(ev: EventConfig, target: EventTarget) -> None:
    """Apply one due event to ``target``."""
    ACTIONS[ev.kind](ev, target)
