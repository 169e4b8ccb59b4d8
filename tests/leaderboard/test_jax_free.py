"""The leaderboard and the site read stored results only: they load without JAX (or matplotlib until a figure)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["harness.leaderboard.rank", "harness.leaderboard.archive", "harness.site"])
def test_module_does_not_import_jax(module: str) -> None:
    code = (f"import sys, {module}\nheavy = sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'matplotlib'))"
            "\nassert not heavy, heavy[:5]\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
