"""``python -m experiments.study``: run or collect a study or a sweep (:mod:`experiments.study`)."""

import sys

from experiments.study.cli import main

sys.exit(main())
