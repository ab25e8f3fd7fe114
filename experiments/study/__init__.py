"""Multi-seed studies with control arms, and resumable parameter sweeps on a workstation.

Both run as Hydra multiruns with the joblib launcher: one worker process per core, so runs never
pile up in one interpreter (Mesa 3.3.1 keeps every model alive in its process, mesa#3179;
:func:`~experiments.study.jobs.sweep_job` also releases them between the jobs a worker runs).

**Sweeps.** ``python -m experiments.run -m +sweep=<name> [overrides]`` runs the grid of
``conf/sweep/<name>.yaml`` (``+sweep=workstation`` plus grid overrides for an ad-hoc grid). Each
job writes into ``<sweep dir>/<its overrides>``; when the multirun ends
:class:`~experiments.study.progress.CollectSweep` writes ``sweep_table.parquet`` / ``.csv`` (one
row per job: its overrides as columns, ``status``, ``error`` and every numeric leaf of its
summary.json under a dotted name) and the heatmaps listed in the callback's ``figures``
(:func:`~experiments.study.figures.sweep_figure`). Rerunning the same command with the same
``hydra.sweep.dir`` skips the jobs that already finished; a job that fails is recorded and the
others go on. ``python -m experiments.study collect <dir>`` re-collects a sweep or a study.

**Studies.** ``python -m experiments.study run <study> [key=value ...] [-- run overrides ...]``
reads ``conf/study/<study>.yaml`` (:class:`~experiments.study.config.StudyConfig`; a scenario name
alone works too), runs the treatment and every control arm over the same seeds, then each listed
calibrated parameter at 0.8x and 1.2x (fewer seeds), and writes into the study dir:

- ``study_table.csv`` / ``.parquet``: per metric and arm the mean, sd and t-interval; for each
  control arm the difference *treatment minus control* paired by seed (mean, CI, paired-t p) and
  Welch's unpaired p; each arm's mean against the scenario's ``reference`` figure (ratio, sign);
  the spread over seeds (median, 10%/90% quantiles, Sarle's bimodality coefficient and flag);
  and for price metrics F's part (F's move over the same window, the metric net of F, F's share),
- ``robustness.csv`` / ``.parquet``: the same differences at every robustness setting,
- ``crisis.csv`` / ``.parquet`` (a scenario with ``scenario.crisis``): per setting and arm the
  share of seeds where the crisis happened, with its Wilson interval,
- ``study_runs.csv`` / ``.parquet``: one row per run (the data behind them; ``crisis`` per run),
- ``study.md`` (a short summary) and ``study.png`` (every seed per arm as a strip of dots, the
  median and 10-90% range, the mean and interval, the reference and the crisis threshold).

Files a multirun job leaves next to the run's own outputs: ``job_status.json`` (``status`` "ok" or
"failed", the overrides, the fingerprint of the effective config, wall seconds), ``error.txt`` (the
traceback of a failed job) and ``stdout.log``; the sweep dir gets ``progress.jsonl`` (one line per
finished job, which :class:`~experiments.study.progress.SweepProgress` prints as ``[done/total
elapsed]`` lines).

Modules, by job: :mod:`.config` (StudyConfig), :mod:`.plan` (arms, robustness settings, the
manifest and command lines), :mod:`.runner` (child and worker processes, shared with the HPI
study; a signal to the study reaches its multirun's whole process group), :mod:`.lock` (one run
per study dir), :mod:`.jobs` (one multirun job), :mod:`.progress` (Hydra callbacks),
:mod:`.collect`, :mod:`.tables`, :mod:`.figures`, :mod:`.report` (study.md), :mod:`.pipeline`
(run_study) and :mod:`.cli`. The statistics are :mod:`market.stats.inference`.
"""
