#!/usr/bin/env python3
"""Main job: set up ``.venv`` and run the default critbench scorecard.

Usage: ``python3 ci/demo.py [extra critbench arguments]``
"""

import sys

from _venv import ensure_venv, run

if __name__ == "__main__":
    py = ensure_venv()
    sys.exit(run(py, "-m", "harness.cli", *sys.argv[1:]))
