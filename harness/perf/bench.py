"""``critbench bench``: how far the solvers are from the hardware.

For a case (default: the thesis DLAE, data form, and the quartic field case)
it measures, in one process:

* the device and the machine's float64 matmul peak (``n x n @ n x n`` with
  ``2 n^3`` FLOPs, best of a few repeats) and its streaming memory bandwidth
  (``y = a x + y`` on 64 MB vectors: 24 bytes per element);
* time per gradient and per Hessian-vector product (``jvp`` of ``grad``) at
  each batch size (``vmap`` over points), their FLOPs from XLA's cost analysis
  (``jax.jit(f).lower(...).compile().cost_analysis()``), the HVP/gradient time
  ratio and the achieved FLOP/s as a fraction of the peak; the HVP's bytes
  accessed (XLA's cost analysis, an upper bound on memory traffic: no cache
  reuse), its arithmetic intensity and the roofline bound
  ``min(peak, intensity x bandwidth)``, so a memory-bound oracle (the DLAE's
  skinny ``16 x 10,000`` products) is measured against the bound it can reach;
* for Newton-MR with refilling lanes (:func:`harness.solvers.iterate_refill`)
  at each batch size: compile time cold (first call in this process; a warm
  persistent cache makes it a load) and warm (second call: must be ~0), time
  per Newton-MR iteration, per MINRES-QLP iteration, per success, the lane
  utilization and the achieved FLOP/s of the whole solve (HVPs and gradients
  counted by the solve times their XLA FLOPs);
* the process's peak resident memory.

Timings on a shared machine are inflated; ratios measured side by side in the
same process are the meaningful figures.
"""

from __future__ import annotations

import json
import math
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["bench_case", "format_table", "matmul_peak", "memory_bandwidth", "run_bench"]

#: Default cases: the thesis DLAE (data form) and a field case.
DEFAULT_CASES = ("dlae", "quartic")
DEFAULT_BATCHES = (1, 20, 1000)
#: DLAE instances at ~1e4, 1e5 and 4e5 parameters (``dim = 2 p k``; issue 22): data form with
#: ``n = 10 k`` samples (the realistic workload), Gaussian starts (an HVP's cost does not
#: depend on the point; the thesis trajectory sampler costs minutes at ``k = 1000``).
SIZES: dict[str, dict[str, Any]] = {
    "1e4": {"k": 250, "p": 20, "n": 2500, "init": "gaussian"},
    "1e5": {"k": 500, "p": 100, "n": 5000, "init": "gaussian"},
    "4e5": {"k": 1000, "p": 200, "n": 10000, "init": "gaussian"},
}


def _best(fn: Callable[[], Any], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        _block(out)
        best = min(best, time.perf_counter() - t)
    return best


def _block(x: Any) -> None:
    import jax

    jax.tree_util.tree_map(lambda a: a.block_until_ready() if hasattr(a, "block_until_ready") else a, x)


def _cost(compiled: Any, key: str) -> float:
    ca = compiled.cost_analysis()
    if isinstance(ca, (list, tuple)):
        ca = ca[0] if ca else {}
    return float((ca or {}).get(key, float("nan")))


def _flops(compiled: Any) -> float:
    return _cost(compiled, "flops")


def memory_bandwidth(n: int = 8 * 2**20, repeats: int = 5) -> dict[str, float]:
    """Streaming bandwidth of this device: best time of ``y <- a x + y`` on ``n`` float64 (``24 n`` bytes)."""
    import jax
    import jax.numpy as jnp

    x = jnp.asarray(np.random.default_rng(0).standard_normal(n))
    y = jnp.asarray(np.random.default_rng(1).standard_normal(n))
    f = jax.jit(lambda a, b: 1.0001 * a + b)
    f(x, y).block_until_ready()
    t = _best(lambda: f(x, y), repeats)
    return {"n": n, "seconds": t, "bytes_per_s": 24.0 * n / t}


def matmul_peak(n: int = 1024, repeats: int = 5) -> dict[str, float]:
    """The float64 matmul rate of this device: best time of ``A @ B`` (``2 n^3`` FLOPs)."""
    import jax
    import jax.numpy as jnp

    a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n)))
    f = jax.jit(lambda x, y: x @ y)
    f(a, a).block_until_ready()
    t = _best(lambda: f(a, a), repeats)
    return {"n": n, "seconds": t, "flops_per_s": 2.0 * n**3 / t}


def bench_case(case_name: str, batches: Sequence[int], *, runs: int, max_iter: int = 500, tol: float = 1e-10,
               peak: float, repeats: int = 3, case_params: dict | None = None,
               bandwidth: float | None = None) -> dict[str, Any]:
    """Oracle and Newton-MR figures of one case (see the module docstring)."""
    import jax
    import jax.numpy as jnp

    from cases import get_case
    from harness.run.compile_cache import CompileCounter
    from harness.solvers import Problem, get_solver, hvp

    case = get_case(case_name, **dict(case_params or {}))
    fn, data, dim = case.loss_fn, case.data, case.dim
    out: dict[str, Any] = {"case": case_name, "params": dict(case.params), "dim": dim, "batches": []}
    # data as an argument (as the solvers pass it): no constant folding of a 1000 x 10000 X at compile time
    grad_d = jax.jit(jax.vmap(lambda t, d: jax.grad(fn)(t, d), in_axes=(0, None)))
    hvp_d = jax.jit(jax.vmap(lambda t, v, d: hvp(fn, t, v, d), in_axes=(0, 0, None)))
    solver = get_solver("newton-mr")
    problem = Problem(fn, data, dim)
    for b in batches:
        th = jnp.asarray(case.initial_points(0, b))
        v = jnp.asarray(np.random.default_rng(1).standard_normal((b, dim)))
        try:
            g_c = grad_d.lower(th, data).compile()
            h_c = hvp_d.lower(th, v, data).compile()
        except Exception as exc:  # e.g. out of memory at the largest batch
            out["batches"].append({"batch": b, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"})
            continue
        tg = _best(lambda: g_c(th, data), repeats)
        th_ = _best(lambda: h_c(th, v, data), repeats)
        fg, fh = _flops(g_c) / b, _flops(h_c) / b
        row: dict[str, Any] = {
            "batch": b, "s_per_grad": tg / b, "s_per_hvp": th_ / b, "hvp_grad_ratio": th_ / tg,
            "flop_per_grad": fg, "flop_per_hvp": fh,
            "grad_peak_fraction": fg * b / tg / peak, "hvp_peak_fraction": fh * b / th_ / peak,
        }
        bh = _cost(h_c, "bytes accessed") / b
        if bandwidth and bh > 0:
            bound = min(peak, fh / bh * bandwidth)
            row.update({"bytes_per_hvp": bh, "hvp_intensity": fh / bh, "hvp_bytes_per_s": bh * b / th_,
                        "hvp_roofline_flop_per_s": bound, "hvp_roofline_fraction": fh * b / th_ / bound})
        if runs <= 0:  # HVP figures only (large sizes)
            out["batches"].append(row)
            continue
        n = max(runs, b)
        starts = case.initial_points(0, n)
        with CompileCounter() as cold:
            t = time.perf_counter()
            solver.solve_refill(problem, starts, max_iter=max_iter, tol=1e300, lanes=b)
            row["compile_s_cold"] = time.perf_counter() - t
        row["compile_cache_hits"] = cold.cache_hits
        with CompileCounter() as warm:
            t = time.perf_counter()
            res = solver.solve_refill(problem, starts, max_iter=max_iter, tol=tol, lanes=b)
            wall = time.perf_counter() - t
        row["compile_s_warm"] = warm.compile_seconds
        iters = int(res.n_iter.sum())
        kry = int(np.where(res.trace["krylov_iters"] > 0, res.trace["krylov_iters"], 0).sum())
        succ = int((res.status == 0).sum())
        hv, gr = int(res.hvps.sum()), int(res.grads.sum())
        flop = hv * fh + gr * fg
        row.update({
            "runs": n, "successes": succ, "solve_s": wall, "s_per_newton_iter": wall / max(iters, 1),
            "s_per_minres_iter": wall / max(kry, 1), "s_per_success": wall / succ if succ else None,
            "hvps": hv, "grads": gr, "lane_utilization": res.lane_utilization,
            "solve_flop_per_s": flop / wall, "solve_peak_fraction": flop / wall / peak,
        })
        out["batches"].append(row)
    return out


def run_bench(cases: Sequence[str] = DEFAULT_CASES, batches: Sequence[int] = DEFAULT_BATCHES, *, runs: int = 100,
              max_iter: int = 500, quick: bool = False, sizes: Sequence[str] = ()) -> dict[str, Any]:
    """All figures as one JSON-friendly dict (``quick``: small sizes for tests; ``sizes``: keys of
    :data:`SIZES`, each a DLAE at batch 1 in place of ``cases``)."""
    import jax

    from harness.run import provenance

    if quick:
        cases, batches, runs, max_iter = ("quartic",), (1, 4), 8, 50
    peak = matmul_peak(256 if quick else 1024, 2 if quick else 5)
    bw = memory_bandwidth(2**20 if quick else 8 * 2**20, 2 if quick else 5)
    dev = jax.devices()[0]
    out = {
        "device": {"platform": dev.platform, "kind": getattr(dev, "device_kind", str(dev)),
                   "backend": jax.default_backend()},
        "matmul_peak": peak, "memory_bandwidth": bw, "cases": [], "provenance": provenance.collect(),
    }
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        raise ValueError(f"--size {bad[0]!r}: choose from {', '.join(SIZES)}")
    jobs = [("dlae", (1,), dict(SIZES[s])) for s in sizes] or [(c, tuple(batches), None) for c in cases]
    for c, bs, params in jobs:
        out["cases"].append(bench_case(c, bs, runs=runs, max_iter=max_iter, peak=peak["flops_per_s"],
                                       repeats=2 if quick else 3, bandwidth=bw["bytes_per_s"], case_params=params))
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table of :func:`run_bench`'s result."""
    d = result["device"]
    lines = [f"device: {d['kind']} ({d['platform']}); f64 matmul peak "
             f"{result['matmul_peak']['flops_per_s'] / 1e9:.2f} GFLOP/s; stream bandwidth "
             f"{result.get('memory_bandwidth', {}).get('bytes_per_s', float('nan')) / 1e9:.1f} GB/s; "
             f"peak RSS {result['peak_rss_mb']:.0f} MB"]
    hdr = ("case", "dim", "batch", "MB/hvp", "us/grad", "us/hvp", "hvp/grad", "hvp %peak", "hvp flop/byte",
           "hvp %roofline",
           "compile cold s", "compile warm s",
           "ms/NM iter", "ms/MINRES it", "s/success", "lane util", "solve %peak")
    lines.append(" | ".join(hdr))
    for c in result["cases"]:
        for r in c["batches"]:
            if "error" in r:
                lines.append(f"{c['case']} | {c['dim']} | {r['batch']} | {r['error']}")
                continue
            if "solve_s" not in r:  # HVP figures only
                r = {**r, "s_per_success": None, "compile_s_cold": math.nan, "compile_s_warm": math.nan,
                     "s_per_newton_iter": math.nan, "s_per_minres_iter": math.nan, "lane_utilization": math.nan,
                     "solve_peak_fraction": math.nan}
            sps = "-" if r["s_per_success"] is None else f"{r['s_per_success']:.3g}"
            lines.append(" | ".join([
                c["case"], str(c["dim"]), str(r["batch"]), f"{r.get('bytes_per_hvp', math.nan) / 1e6:.3g}",
                f"{1e6 * r['s_per_grad']:.3g}", f"{1e6 * r['s_per_hvp']:.3g}",
                f"{r['hvp_grad_ratio']:.2f}", f"{100 * r['hvp_peak_fraction']:.1f}",
                f"{r['hvp_intensity']:.2f}" if "hvp_intensity" in r else "-",
                f"{100 * r['hvp_roofline_fraction']:.0f}" if "hvp_roofline_fraction" in r else "-",
                f"{r['compile_s_cold']:.2f}",
                f"{r['compile_s_warm']:.2f}", f"{1e3 * r['s_per_newton_iter']:.3g}",
                f"{1e3 * r['s_per_minres_iter']:.3g}", sps, f"{r['lane_utilization']:.3f}",
                f"{100 * r['solve_peak_fraction']:.1f}"]))
    return "\n".join(lines)


def main_bench(args: Any) -> int:
    """CLI: ``critbench bench [--case C ...] [--batch B ...] [--runs N] [--quick] [--json FILE]``."""
    res = run_bench(tuple(args.case or DEFAULT_CASES), tuple(args.batch or DEFAULT_BATCHES), runs=args.runs,
                    max_iter=args.max_iter, quick=args.quick, sizes=tuple(getattr(args, "size", None) or ()))
    print(format_table(res))
    if args.json:
        from harness.results.store import json_default

        Path(args.json).write_text(json.dumps(res, indent=2, default=json_default))
        print(f"json: {args.json}")
    return 0
