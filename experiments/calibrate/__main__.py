"""``python -m experiments.calibrate``: run or resume a calibration."""

import sys

from experiments.calibrate.cli import main

sys.exit(main())
