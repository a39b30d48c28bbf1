"""``python -m vo2neuro.cli``: the same entry point as the ``vo2neuro`` console script."""
import sys

from vo2neuro.cli import main

sys.exit(main())
