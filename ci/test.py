#!/usr/bin/env python3
"""Test job: set up ``.venv`` and run the test suite (pytest -n auto).

Usage: ``python3 ci/test.py [extra pytest arguments]``.  With ``CI`` set the
Hypothesis ``ci`` profile is selected (see ``tests/conftest.py``).
"""

import sys

from _venv import ensure_venv, run

if __name__ == "__main__":
    py = ensure_venv()
    args = sys.argv[1:]
    rc = run(py, "-m", "pytest", "-n", "auto", *args)
    sys.exit(rc)
