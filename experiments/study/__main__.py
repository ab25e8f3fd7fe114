"""``python -m experiments.study``: run or collect a study or a sweep (see :mod:`experiments.study.core`)."""

import sys

from experiments.study.core import main

sys.exit(main())
