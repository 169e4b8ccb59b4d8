"""The leaderboard's suites: the versioned cells every method is ranked on.

The suites themselves are entries of the one suite registry (:mod:`harness.run.suite`:
``standard-v1``, ``standard-v2``, and any plug-in suite with reference solvers);
this module looks them up by name and runs a new method on one.

A suite is a named, versioned, frozen list of cells (case with its complete
parameters, runs, iteration budget, tolerance, seed).  ``standard-v1`` equals
the default scorecard (:func:`harness.run.suite.default_specs`) as it was frozen, cell for cell (cases
added to the scorecard later, :data:`SCORECARD_CASES_AFTER_V1`, are not in it):
7 ground-truth cases at their ``small_params``, 20 runs x 200 iterations each
(si-line: 8 x 60, started near the certified lines), seed 0, tolerance 1e-10.
Every built-in solver is run on every cell (the dense-Hessian solvers only on
cases with ``dim <= 200``, which is all of them in v1): those runs form the
reference archive (:mod:`harness.leaderboard.archive`).

Pairing.  Run ``i`` of a ``(case, seed)`` starts from the same initial point
``theta0_i`` for every solver (:mod:`harness.run.initial_points`), so the
``i``-th runs of two solvers on one cell form a matched pair (the leaderboard's
paired tests rest on this).

Versions.  A cell list is never edited in place: a changed cell makes a new
version (``standard-v2``).  :func:`suite_hash` fingerprints the declaration; a
result set written by :func:`run_suite_for` records ``suite`` and
``suite_hash`` in its ``meta.json`` (:meth:`ResultStore.write_meta`), and the
leaderboard refuses to rank result sets of different suites or fingerprints
against each other unless explicitly told to (``--allow-mixed-suites``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.run import suite as _registry
from harness.run.suite import DEFAULT_SUITE, Suite, SuiteError

__all__ = ["DEFAULT_SUITE", "check_stamp", "get_suite", "run_suite_for", "suite_names"]


def _ranked(name: str) -> bool:
    obj = _registry.SUITES.get(name)
    return isinstance(obj, Suite) and bool(obj.reference_solvers)


def suite_names() -> list[str]:
    """The registered suites a method can be ranked on (those with reference solvers), sorted."""
    return [n for n in _registry.suite_names() if _ranked(n)]


def get_suite(name: str) -> Suite:
    """The leaderboard suite called ``name`` (from :data:`harness.run.suite.SUITES`).

    Raises:
        SuiteError: no such suite, or one without reference solvers.
    """
    if name not in _registry.SUITES or not _ranked(name):
        raise SuiteError(f"unknown suite {name!r} (known: {', '.join(suite_names())})")
    return _registry.get_suite(name)


def check_stamp(meta: Mapping[str, Any], where: str) -> tuple[str | None, str | None]:
    """``(suite, suite_hash)`` recorded in a result set's ``meta`` (``None`` when absent)."""
    s, h = meta.get("suite"), meta.get("suite_hash")
    return (None if s is None else str(s)), (None if h is None else str(h))


def run_suite_for(
    suite: Suite,
    solver: str,
    out_dir: str | Path,
    *,
    options: Mapping[str, Any] | None = None,
    jobs: int = 1,
    progress: Any = None,
    command: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Run ``solver`` (only it) on every cell of ``suite`` into ``out_dir`` and stamp ``meta.json``.

    Raises:
        SuiteError: ``out_dir`` already holds results of another suite (or another version of it).
    """
    from harness.results.store import ResultStore, load_meta
    from harness.run.runner import run_suite

    out = Path(out_dir)
    if out.exists():
        have = check_stamp(load_meta(out), str(out))
        if have[0] is not None and have != (suite.name, suite.hash):
            raise SuiteError(f"{str(out)!r} holds results of suite {have[0]} ({have[1]}), not {suite.name} "
                             f"({suite.hash}): use another --out")
    specs = suite.specs(solver, options)
    ResultStore(out).write_meta(**suite.stamp())  # before the runs: an interrupted set is stamped too
    return run_suite(specs, out, progress=progress, command=command, jobs=jobs)
