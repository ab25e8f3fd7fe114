"""The Hedge Pressure Index study: dataset, two-layer slippage model, policy evaluation, report.

Run it with the main entry point and the study's primary config::

    python -m experiments.run --config-name hpi_study [hpi_study.sessions=20] [other overrides]

(or ``python -m experiments.hpi_study`` with the same overrides). Everything lands in the run
directory (``results/studies/<time>_hpi_study``): ``report.md``, ``tables/`` (CSV and Parquet),
``figures/`` (PNG) and ``study.json`` (the resolved study config and wall times).

The pipeline, one trading day per session:

1. **Sessions** are stratified by event class (``calm``, ``expiry``, ``macro``, ``short_gamma``,
   ``long_gamma``; each a list of config overrides plus scheduled events) and by volatility
   regime, interleaved so that every stretch of sessions holds every class. Each session works
   the same parent orders (:class:`StudyParent`), with seed ``seed + index`` (``seed`` = the
   run config's top-level seed, so ``seed=7`` gives a different study).
2. **Calibration**: ``calibration_sessions`` sessions covering every class and every regime
   (their own seeds) form the observer's reference history: per HPI component the median and
   IQR / 1.349 of its raw values, used as the robust scaler's ``fallbacks`` in every later run
   (the index reads as the deviation from a typical day).
3. **Runs**: every session twice on the same seed, in parallel processes (joblib, ``n_jobs``):
   *shadow* (the HPI scores and logs what it would have done; the desk slices plainly: this is
   the plain desk and the dataset) and *live* (the HPI state machine drives the desk).
4. **Cost decomposition**: an own-impact model (OLS of the permanent drift on
   ``sqrt(participation)``) and the hedge-flow term ``b1 HPI + b2 HPI*VolState + b3
   HPI*QueueFragility`` fitted on the residual drift of the shadow children
   (:func:`market.execution.costs.fit_hedge_term`); every child and parent of both arms is
   decomposed with them, and each parent's parts are checked to add up to its implementation
   shortfall.
5. **Two-layer slippage model**
   (:class:`market.execution.slippage_model.TwoLayerQuantileModel`) on the shadow children:
   rolling time splits (out-of-sample predictions), event-class holdouts,
   calibration tables, CVaR95 drift, baseline vs baseline+hedge, HPI-decile monotonicity of the
   baseline's residual, feature drift of each class against calm.
6. **Policy evaluation**: plain (shadow) vs HPI-driven (live) parents on the same seeds:
   implementation shortfall p50 / p95, CVaR95, worst 1%, completion, delay and opportunity
   cost, underfill, per class and overall; the shadow log's would-have-done actions.
7. **Canary**: the live policy is deployed window by window (``canary.sessions`` sessions each);
   after every window :class:`market.execution.states.CanaryGate` compares it with the plain
   desk of the same sessions and rolls it back for all later sessions once a gate trips.
8. **Figures and report**.

Costs are in bps of the arrival mid, + = cost; side +1 buy / -1 sell; time in clock seconds.
Modules, by job: :mod:`.config` (HPIStudyConfig), :mod:`.sessions` (design, configs, running,
the reference history), :mod:`.models` (cost terms, two-layer model, drift), :mod:`.tables`
(policy evaluation, canary), :mod:`.figures`, :mod:`.report` (report.md) and :mod:`.pipeline`
(run_study, the Hydra task).
"""
