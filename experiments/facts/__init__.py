"""The facts command: the market's stylized facts and price impact against real-market ranges.

``python -m experiments.facts [--quick] [--seeds ...] [--days N] [--out DIR]`` runs the baseline
scenario for many days on seeds no calibration used, and a paired impact experiment (the same
seed with and without one POV parent order of the desk), and prints a table of fact, real range,
simulated value and pass/miss. See docs/facts.md.
"""
