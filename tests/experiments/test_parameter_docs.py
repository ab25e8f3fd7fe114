"""docs/parameters.md: every config field is declared, and the file matches the declarations."""

from __future__ import annotations

import dataclasses

import pytest

from experiments import parameter_docs
from experiments.parameter_docs import DOCS_PATH, SECTIONS, main, render
from market.validation import Validated, spec_of


def _is_subconfig(f: dataclasses.Field) -> bool:
    """A field holding a nested config (documented in its own section)."""
    return f.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(
        f.default_factory
    )


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.path or "top")
def test_every_field_of_every_listed_config_declares_its_spec(section):
    cls = section.config
    assert issubclass(cls, Validated)
    undeclared = [
        f.name for f in dataclasses.fields(cls) if spec_of(f) is None and not _is_subconfig(f)
    ]
    assert undeclared == [], f"{cls.__name__} fields without param(): {undeclared}"
    # every declared field says what it means
    assert all(spec_of(f).doc for f in dataclasses.fields(cls) if spec_of(f) is not None)


def test_nested_configs_listed_are_sections_in_tree_order():
    paths = [s.path for s in SECTIONS]
    assert paths[:6] == ["", "scenario", "market", "market.rules", "market.surface", "market.chain"]
    assert len(set(paths)) == len(paths)
    for prefix in (
        "agents.background",
        "agents.liquidity",
        "agents.customers",
        "agents.dealers",
        "agents.insurers",
    ):
        assert prefix in paths


def _config_tree(cls: type) -> list[type]:
    """``cls`` and every config class nested under it, depth first."""
    found = [cls]
    for f in dataclasses.fields(cls):
        if _is_subconfig(f):
            found += _config_tree(f.default_factory)
    return found


def test_every_config_class_in_the_tree_has_a_section():
    from experiments.config import RunConfig

    documented = {s.config for s in SECTIONS}
    missing = [
        c.__name__
        for c in _config_tree(RunConfig)
        if issubclass(c, Validated) and c not in documented
    ]
    assert missing == [], f"config classes without a section in docs/parameters.md: {missing}"


def test_every_field_appears_in_its_table_under_its_full_name():
    text = render()
    for s in SECTIONS:
        for f in dataclasses.fields(s.config):
            if spec_of(f) is not None:
                name = f"{s.path}.{f.name}" if s.path else f.name
                assert f"| `{name}` |" in text


def test_docs_parameters_md_is_up_to_date():
    assert DOCS_PATH.read_text(encoding="utf-8") == render(), (
        "docs/parameters.md is stale: run python -m experiments.parameter_docs"
    )


def test_check_mode_reports_a_stale_file(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "parameters.md"
    stale.write_text("# Parameters\n", encoding="utf-8")
    monkeypatch.setattr(parameter_docs, "DOCS_PATH", stale)
    assert main(["--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert main([]) == 0  # writes it
    assert stale.read_text(encoding="utf-8") == render()
    assert main(["--check"]) == 0
