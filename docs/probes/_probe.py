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


def oracles(case: Any, solver: Any) -> Any:
    """Jitted ``vg(θ)`` (loss and gradient), ``grad(θ)``, the solver's own ``step(θ, f, g, state)``,
    ``mv(θ)`` (the HVP operator ``v -> H(θ) v``) and ``mr(θ, g)`` (the solver's MINRES-QLP solve of
    ``H p = -g`` with its options; ``maxit = 0`` means ``dim``)."""
    from types import SimpleNamespace

    import jax

    from harness.solvers.minres_qlp import minres_qlp

    fn, data = case.loss_fn, case.data

    def mv(th: Any) -> Any:
        return lambda v: jax.jvp(lambda t: jax.grad(fn)(t, data), (th,), (v,))[1]

    @jax.jit
    def mr(th: Any, g: Any) -> Any:
        s = solver
        return minres_qlp(mv(th), -g, rtol=s.rtol, maxit=s.maxit if s.maxit > 0 else th.shape[0],
                          maxxnorm=s.maxxnorm, acondlim=s.acondlim, trancond=s.trancond, forcing=s.forcing)

    return SimpleNamespace(
        vg=jax.jit(lambda th: jax.value_and_grad(fn)(th, data)),
        grad=jax.jit(lambda th: jax.grad(fn)(th, data)),
        step=jax.jit(lambda th, f, g, st: solver.step(fn, th, f, g, st, data)),
        mv=mv, mr=mr)
