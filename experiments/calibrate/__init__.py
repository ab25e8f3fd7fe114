"""Calibration: fit a scenario's parameters to its reference figures with Optuna.

``python -m experiments.calibrate <name> [key=value ...] [--dry-run]`` reads
``conf/calibrate/<name>.yaml`` (:class:`~experiments.calibrate.config.CalibrationConfig`): the
scenario and arm, the config fields to search with their ranges, the metrics of
``scenario_metrics`` with weights and scales, seeds per trial, trials, sampler seed. Each trial
runs the arm with its parameters over the seeds as one multirun of ``experiments.run`` through
the configured Hydra launcher (the machinery studies use), averages each metric over the seeds
and scores ``sum w * ((mean - reference) / scale) ** 2``
(:mod:`~experiments.calibrate.objective`). A field may be searched only inside the plausible range
declared next to it (:mod:`~experiments.calibrate.space`); a search outside it is refused before
any run. The dir ``results/calibrations/<name>/`` holds the Optuna journal (rerunning resumes),
``trials.csv``, the best parameters as ``calibrated/<name>.yaml`` and ``best_overrides.txt``, and
``calibration.md`` (:mod:`~experiments.calibrate.outputs`). docs/calibration.md is the guide.

Modules: :mod:`.config`, :mod:`.space`, :mod:`.objective`, :mod:`.launch` (a batch of trials as
one multirun), :mod:`.pipeline` (plan, ask, run, tell, resume), :mod:`.outputs`, :mod:`.cli`.
"""
