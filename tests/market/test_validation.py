"""market.validation: declared ranges, their checks and the tables generated from them."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import numpy as np
import pytest

from market.validation import (
    ConfigError,
    Spec,
    Validated,
    check_array,
    check_choice,
    check_range,
    param,
    param_from,
    parameter_rows,
    parameter_table,
    spec_of,
    validate,
)


class Colour(Enum):
    red = "red"
    blue = "blue"


@dataclass
class Demo(Validated):
    config_path: ClassVar[str] = "demo"

    n: int = param(3, lo=0, hi=10, unit="agents", doc="how many")
    share: float = param(
        0.5, lo=0.0, hi=1.0, hi_open=True, unit="fraction", doc="a share", plausible=(0.1, 0.6)
    )
    low: float = param(1.0, lo=0.0, lo_open=True, unit="s", doc="lower end")
    high: float = param(2.0, lo="low", hi=100.0, unit="s", doc="upper end, at least `low`")
    cap: float | None = param(None, lo=0.0, optional=True, doc="an optional cap")
    colour: Colour = param(Colour.red, choices=Colour, doc="a colour")
    mode: str = param("a", choices=("a", "b"), doc="a mode")
    levels: list[float] = param(
        default_factory=lambda: [0.1, 0.2], lo=0.0, hi=1.0, lo_open=True, doc="levels, increasing"
    )
    label: str = param("x", doc="free text")
    plain: int = 7  # no spec: not checked, not documented

    def check(self) -> None:
        if list(self.levels) != sorted(self.levels):
            raise ConfigError(f"{self.config_path}.levels must be increasing, got {self.levels}")


# ---------------------------------------------------------------------------- check_range


def test_check_range_accepts_the_closed_ends_and_refuses_the_open_ones():
    check_range("x", 0.0, 0.0, 1.0)
    check_range("x", 1.0, 0.0, 1.0)
    check_range("x", np.float64(0.5), 0.0, 1.0)
    check_range("x", np.int64(3), 0, None)
    with pytest.raises(ConfigError, match=r"^x must be in \(0\.0, 1\.0\], got 0\.0$"):
        check_range("x", 0.0, 0.0, 1.0, lo_open=True)
    with pytest.raises(ConfigError, match=r"^x must be in \[0\.0, 1\.0\), got 1\.0$"):
        check_range("x", 1.0, 0.0, 1.0, hi_open=True)
    with pytest.raises(ConfigError, match=r"must be in \[-inf, 5\], got 6"):
        check_range("x", 6, None, 5)
    with pytest.raises(ConfigError, match=r"must be in \[1, inf\], got 0"):
        check_range("x", 0, 1)


@pytest.mark.parametrize("bad", [float("nan"), "1", None, True, [1.0]])
def test_check_range_refuses_what_is_not_a_number(bad):
    with pytest.raises(ConfigError, match=r"^a\.b must be a number, got "):
        check_range("a.b", bad, 0.0, 1.0)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


# ---------------------------------------------------------------------------- check_array


def test_check_array_returns_floats_and_names_the_first_bad_element():
    out = check_array("w", [1, 2, 3], 0.0)
    assert out.dtype == float
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match=r"^w must be in \[0\.0, inf\], got -2\.0$"):
        check_array("w", [1.0, -2.0, -3.0], 0.0)
    with pytest.raises(ConfigError, match=r"^w must be in \(0\.0, 1\.0\), got 1\.0$"):
        check_array("w", np.array([[0.5], [1.0]]), 0.0, 1.0, lo_open=True, hi_open=True)
    with pytest.raises(ConfigError, match=r"^w must be finite"):
        check_array("w", [0.0, math.inf], 0.0)
    with pytest.raises(ConfigError, match=r"^w must be finite"):
        check_array("w", [float("nan")])


# ---------------------------------------------------------------------------- check_choice


def test_check_choice_takes_values_or_enum_members():
    check_choice("c", "red", ("red", "blue"))
    check_choice("c", Colour.blue, ("red", "blue"))
    with pytest.raises(ConfigError, match=r"^c must be one of 'red', 'blue'; got 'green'$"):
        check_choice("c", "green", ("red", "blue"))


# ---------------------------------------------------------------------------- param / Spec


def test_param_stores_its_spec_and_a_fresh_default_per_instance():
    fields = {f.name: f for f in dataclasses.fields(Demo)}
    spec = spec_of(fields["share"])
    assert spec == Spec(0.0, 1.0, False, True, None, False, "fraction", "a share", (0.1, 0.6))
    assert spec_of(fields["colour"]).choices == ("red", "blue")  # an Enum's values
    assert spec_of(fields["plain"]) is None
    a, b = Demo(), Demo()
    assert a.levels == [0.1, 0.2]
    a.levels.append(0.3)
    assert b.levels == [0.1, 0.2]


def test_spec_describe_states_ends_sibling_values_and_choices():
    assert Spec(0.0, 1.0, lo_open=True).describe() == "(0.0, 1.0]"
    assert Spec(lo=1).describe() == "[1, inf]"
    assert Spec(hi=2.0, hi_open=True).describe() == "[-inf, 2.0)"
    assert Spec(lo="low", hi=9.0).describe() == "[low, 9.0]"
    assert Spec(lo="low", hi=9.0).describe(lo=3.0) == "[3.0, 9.0]"
    assert Spec(choices=("a", "b")).describe() == "one of 'a', 'b'"
    assert Spec(doc="free").describe() == "any"
    assert not Spec(doc="free").constrained
    assert Spec(lo=0).constrained and Spec(choices=(1,)).constrained


# ---------------------------------------------------------------------------- validate


def test_defaults_are_valid():
    d = Demo()
    assert (d.n, d.colour, d.plain) == (3, Colour.red, 7)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"n": 11}, r"^demo\.n must be in \[0, 10\], got 11$"),
        ({"n": -1}, r"^demo\.n must be in \[0, 10\], got -1$"),
        ({"share": 1.0}, r"^demo\.share must be in \[0\.0, 1\.0\), got 1\.0$"),
        ({"low": 0.0}, r"^demo\.low must be in \(0\.0, inf\], got 0\.0$"),
        ({"share": float("nan")}, r"^demo\.share must be a number"),
        ({"n": "3"}, r"^demo\.n must be a number, got '3'$"),
        ({"cap": -1.0}, r"^demo\.cap must be in \[0\.0, inf\], got -1\.0$"),
        ({"colour": "green"}, r"^demo\.colour must be one of 'red', 'blue'; got 'green'$"),
        ({"mode": "c"}, r"^demo\.mode must be one of 'a', 'b'; got 'c'$"),
        ({"levels": [0.5, 1.5]}, r"^demo\.levels\[1\] must be in \(0\.0, 1\.0\], got 1\.5$"),
        ({"levels": [0.0]}, r"^demo\.levels\[0\] must be in \(0\.0, 1\.0\], got 0\.0$"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_full_path_and_range(kw, message):
    with pytest.raises(ConfigError, match=message):
        Demo(**kw)


def test_a_sibling_bound_takes_the_siblings_value():
    Demo(low=5.0, high=5.0)
    with pytest.raises(ConfigError, match=r"^demo\.high must be in \[5\.0, 100\.0\], got 4\.0$"):
        Demo(low=5.0, high=4.0)


def test_optional_allows_none_only_where_declared():
    assert Demo(cap=None).cap is None
    assert Demo(cap=3.0).cap == 3.0
    with pytest.raises(ConfigError, match=r"demo\.share must be a number, got None"):
        Demo(share=None)


def test_enum_members_and_their_values_both_pass_choices():
    assert Demo(colour=Colour.blue).colour is Colour.blue
    assert Demo(colour="blue").colour == "blue"  # conversion to members is the owner's business


def test_unconstrained_specs_and_undeclared_fields_are_not_checked():
    assert Demo(label=123).label == 123
    assert Demo(plain="anything").plain == "anything"


def test_cross_field_rules_run_after_the_ranges():
    with pytest.raises(ConfigError, match=r"^demo\.levels must be increasing"):
        Demo(levels=[0.5, 0.2])
    # a range error wins over the cross-field rule
    with pytest.raises(ConfigError, match=r"levels\[1\] must be in"):
        Demo(levels=[0.5, 2.0, 0.1])


def test_validate_can_be_called_with_any_path():
    d = Demo()
    d.n = 99  # assignment after construction is not checked ...
    with pytest.raises(ConfigError, match=r"^other\.n must be in"):
        validate(d, "other")  # ... until validated again
    d.n = 5
    validate(d)


# ---------------------------------------------------------------------------- the tables


def test_parameter_rows_list_declared_fields_in_order_with_their_defaults():
    rows = parameter_rows(Demo)
    assert [r["name"] for r in rows] == [
        "n",
        "share",
        "low",
        "high",
        "cap",
        "colour",
        "mode",
        "levels",
        "label",
    ]
    by_name = {r["name"]: r for r in rows}
    assert by_name["n"] == {
        "name": "n",
        "default": "3",
        "unit": "agents",
        "range": "[0, 10]",
        "plausible": "",
        "doc": "how many",
    }
    assert by_name["share"]["plausible"] == "[0.1, 0.6]"
    assert by_name["high"]["range"] == "[low, 100.0]"
    assert by_name["cap"]["range"] == "[0.0, inf] or null"
    assert by_name["cap"]["default"] == "None"
    assert by_name["colour"]["default"] == "'red'"  # an Enum default shows its value
    assert by_name["colour"]["range"] == "one of 'red', 'blue'"
    assert by_name["levels"]["default"] == "[0.1, 0.2]"
    assert by_name["label"]["range"] == "any"


def test_parameter_table_is_markdown_with_full_names_and_escaped_pipes():
    @dataclass
    class Piped(Validated):
        g: float = param(1.0, lo=0.0, unit="x", doc="scales `|gamma|`")

    table = parameter_table(Demo, "demo").splitlines()
    assert table[0] == "| parameter | default | unit | allowed | plausible | meaning |"
    assert table[1] == "|---|---|---|---|---|---|"
    assert table[2] == "| `demo.n` | 3 | agents | [0, 10] |  | how many |"
    assert table[3] == "| `demo.share` | 0.5 | fraction | [0.0, 1.0) | [0.1, 0.6] | a share |"
    assert len(table) == 2 + 9
    assert parameter_table(Demo).splitlines()[2].startswith("| `n` |")
    row = parameter_table(Piped, "p").splitlines()[2]
    assert row == "| `p.g` | 1.0 | x | [0.0, inf] |  | scales `\\|gamma\\|` |"
    assert row.replace("\\|", "").count("|") == 7  # six cells


# ---------------------------------------------------------------------------- plausible ranges


def test_plausible_range_is_stored_in_the_spec_and_described():
    spec = spec_of(next(f for f in dataclasses.fields(Demo) if f.name == "share"))
    assert spec.plausible == (0.1, 0.6)
    assert spec.describe_plausible() == "[0.1, 0.6]"
    assert spec_of(dataclasses.fields(Demo)[0]).describe_plausible() == ""


def test_plausible_range_outside_the_allowed_range_or_reversed_is_refused_at_declaration():
    with pytest.raises(ConfigError, match=r"inside the allowed range \[0.0, 1.0\)"):
        param(0.5, lo=0.0, hi=1.0, hi_open=True, plausible=(0.1, 1.0))
    with pytest.raises(ConfigError, match="lo <= hi"):
        param(0.5, lo=0.0, hi=1.0, plausible=(0.6, 0.1))
    # a bound naming a sibling field is not known at declaration: only the numeric end is checked
    param(2.0, lo="low", hi=100.0, plausible=(1.0, 50.0))


def test_plausible_range_does_not_restrict_what_a_run_accepts():
    # plausibility bounds the calibration's search, not the values a user may set by hand
    assert Demo(share=0.9).share == 0.9


def test_a_field_declared_from_another_keeps_one_declaration_and_checks_it_under_its_own_name():
    @dataclass(frozen=True)
    class Part(Validated):
        size: int = param(10, lo=1, hi=100, unit="contracts", doc="order size")

    @dataclass
    class Flat(Validated):
        config_path: ClassVar[str] = "market.flat"
        part_size: int = param_from(Part, "size")

    assert spec_of(dataclasses.fields(Flat)[0]) is spec_of(dataclasses.fields(Part)[0])
    assert Flat().part_size == 10
    with pytest.raises(ConfigError, match=r"market.flat.part_size must be in \[1, 100\], got 0"):
        Flat(part_size=0)
    with pytest.raises(ConfigError, match=r"size must be in \[1, 100\], got 101"):
        Part(size=101)
    with pytest.raises(TypeError, match="no declared field 'colour'"):
        param_from(Part, "colour")
