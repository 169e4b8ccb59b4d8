"""Shared command line and setup of the Newton-MR-at-scale probes (docs/scale-newton-mr.md).

``python nmr_scale_X.py K P N [key=value ...]``: ``init=`` goes to the DLAE case, the keys in
``settings`` (``max_iter``, ``every``, ``seed``, ``tau``...) to the probe, every other key to
``newton-mr`` as an option (numbers as floats, ``True``/``False`` as bools).
"""
from __future__ import annotations

import sys
from typing import Any

from cases import get_case
from harness.run.initial_points import initial_points
from harness.solvers import Problem, get_solver


def _value(val: str) -> Any:
    if val in ("True", "False"):
        return val == "True"
    try:
        return float(val)
    except ValueError:
        return val


def parse(settings: dict[str, Any], argv: list[str] | None = None) -> tuple[int, int, int, dict, dict, dict]:
    """``(K, P, N, solver options, case keywords, settings)`` from ``argv`` (default ``sys.argv``);
    ``settings`` gives each probe setting's default (its type is kept)."""
    argv = sys.argv if argv is None else argv
    k, p, n = int(argv[1]), int(argv[2]), int(argv[3])
    opts, case_kw, out = {}, {}, dict(settings)
    for a in argv[4:]:
        key, val = a.split("=", 1)
        if key == "init":
            case_kw["init"] = val
        elif key in out:
            out[key] = type(out[key])(val)
        else:
            opts[key] = _value(val)
    return k, p, n, opts, case_kw, out


def solve(k: int, p: int, runs: list[int], opts: dict, case_kw: dict, *, seed: int = 0, max_iter: int = 500):
    """The DLAE (``gram=True``) case, its starts ``runs`` (the runner's), the solver and its result."""
    case = get_case("dlae", k=k, p=p, gram=True, **case_kw)
    theta0 = initial_points(case, seed, runs)
    solver = get_solver("newton-mr", **opts)
    res = solver.solve(Problem(case.loss_fn, case.data, case.dim), theta0, max_iter=max_iter, tol=1e-10)
    return case, theta0, solver, res
