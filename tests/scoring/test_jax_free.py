"""The scorer, the store, the report and the status/cutoff constants load without JAX."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.results import outcomes


@pytest.mark.parametrize(
    "module", ["harness.results.outcomes", "harness.scoring.judge", "harness.scoring.summary", "harness.scoring.cutoffs",
               "harness.results.store", "harness.report", "cases", "cases._core"]
)
def test_module_does_not_import_jax(module):
    code = f"import sys, {module}\nassert 'jax' not in sys.modules, sorted(m for m in sys.modules if 'jax' in m)[:5]\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


def test_status_codes_and_cutoffs_have_one_home():
    import harness.scoring.cutoffs as cutoffs
    import harness.scoring.judge as judge
    from harness.report import _html
    from harness.solvers import _protocol

    assert _protocol.SNAPSHOT_CUTOFFS is outcomes.SNAPSHOT_CUTOFFS
    assert _protocol.STATUS_NAMES is outcomes.STATUS_NAMES
    assert cutoffs.SNAPSHOT_CUTOFFS is outcomes.SNAPSHOT_CUTOFFS
    assert judge.status_name is outcomes.status_name
    assert _html.DEFAULT_CUTOFFS is outcomes.SNAPSHOT_CUTOFFS
    assert (_protocol.CONVERGED, _protocol.MAX_ITER, _protocol.STALLED, _protocol.DIVERGED) == (0, 1, 2, 3)
    assert [outcomes.status_name(c) for c in range(4)] == ["converged", "max_iter", "stalled", "diverged"]


def test_cli_parser_imports_neither_jax_nor_matplotlib():
    """Every ``critbench`` command builds the full parser first: it must stay cheap (the reproduce
    subcommand's options used to pull in matplotlib through the page writer, ~0.4-1.2 s per call)."""
    code = ("import sys, harness.cli\nharness.cli.build_parser()\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'matplotlib'))\n"
            "assert not heavy, heavy[:5]\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
