# Run from the repository root: Hydra resolves results/ against the launch directory.
#   make run                       the default scenario (one trading day), results under results/runs/
#   make run ARGS="seed=7 agents.dealers.policy=whalley_wilmott"
#   make test                      the default test suite (slow tests deselected)
#   make test-all                  every test, slow ones included
#   make bench                     the benchmarks (order book, one-day model run)
#   make facts                     stylized facts and impact against real-market ranges (ARGS="--quick")
#   make gamma                     the paired gamma experiment: short / long / no dealer hedging (ARGS="--seeds 0 1 --days 3")
#   make calibrate ARGS="flash_2010 n_trials=20"   fit a scenario to its reference figures (docs/calibration.md)
#   make lint                      formatting, lint, strict types on market/, the layer rule
#   make fingerprint               check that every scenario and arm still runs byte-identically
PYTHON ?= python3
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
# uv comes from PyPI into a private tools venv, so a machine with only Python and make suffices.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)

.PHONY: env run test test-all bench lint format facts gamma calibrate fingerprint sweep clean

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

env: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --locked --quiet

run: env
	$(UV) run --locked python -m experiments.run $(ARGS)

test: env
	$(UV) run --locked pytest $(ARGS)

test-all: env
	$(UV) run --locked pytest -m "" $(ARGS)

bench: env
	$(UV) run --locked python -m bench.order_book $(ARGS)
	$(UV) run --locked python -m bench.model_day $(ARGS)

lint: env
	$(UV) run --locked ruff format --check .
	$(UV) run --locked ruff check .
	$(UV) run --locked mypy
	$(UV) run --locked pytest -q -p no:cacheprovider tests/test_layers.py

facts: env
	$(UV) run --locked python -m experiments.facts $(ARGS)

gamma: env
	$(UV) run --locked python -m experiments.facts.gamma $(ARGS)

calibrate: env
	$(UV) run --locked python -m experiments.calibrate $(ARGS)

fingerprint: env
	$(UV) run --locked python -m bench.fingerprint compare bench/fingerprints.json $(ARGS)

format: env
	$(UV) run --locked ruff format . && $(UV) run --locked ruff check --fix .

sweep: env
	$(UV) run --locked python -m experiments.run -m hydra/launcher=joblib $(ARGS)

clean:
	rm -rf results/runs results/sweeps .pytest_cache .ruff_cache .hypothesis
