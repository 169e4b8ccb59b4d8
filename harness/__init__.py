"""critbench harness: solvers, scoring, runner, store, reports, CLI.

The public API is re-exported here and imported lazily (PEP 562, through the one
helper :func:`cases._registry.lazy_exports`, itself imported on the first such access, so
``import harness`` imports nothing of ``cases``), so ``import harness``,
``import harness.results.store`` or ``import harness.report`` does not pull in JAX.
If a user's own ``cases`` folder shadows critbench's (:mod:`harness._shadow`), this
package still imports (so ``critbench`` can say so in one line) and every re-exported
name raises that one-line error.
Every module that creates JAX arrays enables float64 at import
(``jax.config.update("jax_enable_x64", True)``) before any array exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness._shadow import failing_exports, shadowing_message

__version__ = "0.1.0"

# public name -> defining module
_EXPORTS = {
    # solver protocol and loop
    "CONVERGED": "harness.solvers._protocol",
    "DIVERGED": "harness.solvers._protocol",
    "MAX_ITER": "harness.solvers._protocol",
    "STALLED": "harness.solvers._protocol",
    "TRACE_FIELDS": "harness.solvers._protocol",
    "IterativeSolver": "harness.solvers._iterative",
    "Problem": "harness.solvers._protocol",
    "SolveResult": "harness.solvers._protocol",
    "Solver": "harness.solvers._protocol",
    "SolverOptionError": "harness.solvers._protocol",
    "StepInfo": "harness.solvers._protocol",
    "hvp": "harness.solvers._oracles",
    "iterate": "harness.solvers._loop",
    # registry
    "SolverError": "harness.solvers.registry",
    "get_solver": "harness.solvers.registry",
    "register_solver": "harness.solvers.registry",
    "solver_names": "harness.solvers.registry",
    # built-in solvers
    "minres_qlp": "harness.solvers.minres_qlp",
    "NewtonMR": "harness.solvers.newton_mr",
    "DampedNewton": "harness.solvers.damped_newton",
    "GNM": "harness.solvers.gnm",
    "BTLSGNM": "harness.solvers.gnm",
    "ExactNewton": "harness.solvers.exact_newton",
    "PseudoInverseNewton": "harness.solvers.exact_newton",
    "NumpySolver": "harness.solvers.numpy_adapter",
    "numpy_solver": "harness.solvers.numpy_adapter",
    # scoring, running, storing, reporting
    "score_run": "harness.scoring.judge",
    "summarize": "harness.scoring.summary",
    "wilson_interval": "harness.stats",
    "cutoff_analysis": "harness.scoring.cutoffs",
    "RunSpec": "harness.run.spec",
    "run_spec": "harness.run.runner",
    "run_suite": "harness.run.runner",
    "ResultStore": "harness.results.store",
    "StoreError": "harness.results.store",
    "load_records": "harness.results.store",
    "OUTCOMES": "harness.results.records",
    "RECORD_FIELDS": "harness.results.records",
    "check_record": "harness.results.records",
    "NumpySolverError": "harness.solvers.numpy_adapter",
    "load_columns": "harness.results.columnar",
    "Sweep": "harness.sweep",
    "SweepError": "harness.sweep",
    "load_sweep": "harness.sweep",
    "run_sweep": "harness.sweep",
    "render_report": "harness.report",
    "assert_finds_ground_truth": "harness.testing",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


_resolved: list[tuple[Callable[[str], Any], Callable[[], list[str]]]] = []


def _exports() -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The lazy re-export functions, made on first use: importing ``harness`` (e.g. the pytest
    plugin, loaded in every pytest session) imports nothing of ``cases``, so a project with its own
    ``cases`` package keeps it.  A user's ``cases`` first on ``sys.path``: every name fails in one line."""
    if _resolved:
        return _resolved[0]
    if shadowing_message("cases") is not None:  # never import theirs here; look again on the next use
        return failing_exports(__name__, _EXPORTS)
    from cases._registry import lazy_exports

    _resolved.append(lazy_exports(__name__, _EXPORTS))
    return _resolved[0]


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return _exports()[0](name)


def __dir__() -> list[str]:
    return _exports()[1]()
