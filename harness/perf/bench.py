"""``critbench bench``: how far the solvers are from the hardware.

For a case (default: the thesis DLAE, data form, and the quartic field case)
it measures, in one process:

* the device and the machine's float64 matmul peak (``n x n @ n x n`` with
  ``2 n^3`` FLOPs, best of a few repeats) and its streaming memory bandwidth
  (``y = a x + y`` on 64 MB vectors: 24 bytes per element).  On a shared
  machine one reading swings by a factor of 3 from one call to the next, so
  both are *read repeatedly* (:class:`Readings`: before the first case and
  after every case, at ``n = 1024`` and ``2048``) and the best reading is
  used as "the peak" (the rate the machine demonstrated in this run); every
  reading and their min / median / max are kept in the JSON;
* time per gradient and per Hessian-vector product (``jvp`` of ``grad``) at
  each batch size (``vmap`` over points), their FLOPs from XLA's cost analysis
  (``jax.jit(f).lower(...).compile().cost_analysis()``), the HVP/gradient time
  ratio and the achieved FLOP/s as a fraction of the peak; the HVP's bytes
  accessed (XLA's cost analysis, an upper bound on memory traffic: no cache
  reuse), its arithmetic intensity and the roofline bound
  ``min(peak, intensity x bandwidth)``, so a memory-bound oracle (the DLAE's
  skinny ``16 x 10,000`` products) is measured against the bound it can reach;
* the HVP's *measured GEMM roofline* (:func:`gemm_roofline`, for ``--size``
  rows and ``--quick``): every ``dot`` of the compiled HVP's optimized HLO,
  rebuilt as a ``jax.lax.dot_general`` of the same shapes and dimension
  numbers and timed alone.  ``gemm_s`` (their summed times) is what the HVP
  would cost if it did nothing but its own products, each at the rate this
  machine reaches on that shape; ``hvp_gemm_fraction = gemm_s / s_per_hvp``
  says how close the HVP is to that bound, ``gemm_peak_fraction =
  gemm_flop / gemm_s / peak`` is the best fraction of the square-matmul peak
  any HVP built from these products could reach;
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
import re
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["HloDot", "Readings", "bench_case", "format_table", "gemm_roofline", "hlo_dots", "matmul_peak",
           "memory_bandwidth", "run_bench"]

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
#: ``--quick``: a small DLAE with HVP figures only (exercises the ``--size`` path and its GEMM roofline).
QUICK_SIZE: dict[str, Any] = {"k": 40, "p": 5, "n": 400, "init": "gaussian"}
#: Square matmul sizes read for the peak at each reading (``--quick``: ``QUICK_PEAK_SIZES``).
PEAK_SIZES = (1024, 2048)
QUICK_PEAK_SIZES = (128, 256)


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
    """One reading of the float64 matmul rate of this device: best time of ``A @ B`` (``2 n^3`` FLOPs).

    On a shared machine one reading is not the machine's rate (readings of the same call swing by 3x):
    :class:`Readings` takes many and keeps the best."""
    import jax
    import jax.numpy as jnp

    a = jnp.asarray(np.random.default_rng(0).standard_normal((n, n)))
    f = jax.jit(lambda x, y: x @ y)
    f(a, a).block_until_ready()
    t = _best(lambda: f(a, a), repeats)
    return {"n": n, "seconds": t, "flops_per_s": 2.0 * n**3 / t}


class Readings:
    """Repeated readings of the matmul peak and the stream bandwidth during one bench run.

    Each :meth:`read` appends one :func:`matmul_peak` reading per size in ``sizes`` and one
    :func:`memory_bandwidth` reading, tagged with ``when``.  :meth:`matmul` / :meth:`stream` summarise them:
    the best reading (``max`` of the rates) is *the* peak / bandwidth used for every fraction (the rate this
    machine demonstrated in this run; a slower reading measured a busy moment, not the hardware), with its
    ``n`` and ``seconds``, and ``min``, ``median``, ``max`` and all ``readings``.
    """

    def __init__(self, sizes: Sequence[int] = PEAK_SIZES, stream_n: int = 8 * 2**20, repeats: int = 5) -> None:
        if not sizes:
            raise ValueError("Readings: at least one matmul size")
        self.sizes, self.stream_n, self.repeats = tuple(sizes), stream_n, repeats
        self.matmul_readings: list[dict[str, Any]] = []
        self.stream_readings: list[dict[str, Any]] = []

    def read(self, when: str) -> None:
        """Take one reading of each (``when``: a label such as ``"start"`` or ``"after dlae"``)."""
        for n in self.sizes:
            self.matmul_readings.append({**matmul_peak(n, self.repeats), "when": when})
        self.stream_readings.append({**memory_bandwidth(self.stream_n, self.repeats), "when": when})

    @staticmethod
    def _summary(readings: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
        if not readings:
            raise ValueError("Readings: no reading taken yet (call read first)")
        rates = [r[key] for r in readings]
        best = max(readings, key=lambda r: r[key])
        return {key: best[key], "n": best["n"], "seconds": best["seconds"], "min": min(rates),
                "median": statistics.median(rates), "max": max(rates), "readings": list(readings)}

    def matmul(self) -> dict[str, Any]:
        """The best matmul reading (``flops_per_s``, ``n``, ``seconds``) with ``min/median/max/readings``."""
        return self._summary(self.matmul_readings, "flops_per_s")

    def stream(self) -> dict[str, Any]:
        """The best bandwidth reading (``bytes_per_s``, ``n``, ``seconds``) with ``min/median/max/readings``."""
        return self._summary(self.stream_readings, "bytes_per_s")


# ---------------------------------------------------------------------------
# the measured GEMM roofline of a compiled function
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class HloDot:
    """One ``dot`` instruction of an optimized HLO module (a ``jax.lax.dot_general``).

    ``out[batch..., lhs free..., rhs free...] = sum_{contracting} lhs[...] rhs[...]``: its FLOPs are
    ``2 prod(out shape) prod(lhs contracting sizes)`` (one multiply and one add per term).
    """

    name: str
    lhs_shape: tuple[int, ...]
    rhs_shape: tuple[int, ...]
    lhs_dtype: str
    rhs_dtype: str
    out_shape: tuple[int, ...]
    out_dtype: str
    lhs_contracting: tuple[int, ...]
    rhs_contracting: tuple[int, ...]
    lhs_batch: tuple[int, ...] = ()
    rhs_batch: tuple[int, ...] = ()

    @property
    def flop(self) -> float:
        return 2.0 * math.prod(self.out_shape) * math.prod(self.lhs_shape[i] for i in self.lhs_contracting)

    @property
    def signature(self) -> tuple:
        """Everything but the name: two dots with equal signatures are the same product."""
        return (self.lhs_shape, self.rhs_shape, self.lhs_dtype, self.rhs_dtype, self.out_dtype,
                self.lhs_contracting, self.rhs_contracting, self.lhs_batch, self.rhs_batch)

    def describe(self) -> str:
        """E.g. ``f64[20,250] x f64[250,2500] c(1|0)`` (``b(..)``: batch dims)."""
        def dims(t: tuple[int, ...]) -> str:
            return ",".join(map(str, t))
        bat = f" b({dims(self.lhs_batch)}|{dims(self.rhs_batch)})" if self.lhs_batch else ""
        return (f"{self.lhs_dtype}[{dims(self.lhs_shape)}] x {self.rhs_dtype}[{dims(self.rhs_shape)}] "
                f"c({dims(self.lhs_contracting)}|{dims(self.rhs_contracting)}){bat}")


_SHAPE = r"(?P<dtype>[a-z]+[0-9]*)\[(?P<dims>[0-9,]*)\](?:\{[^}]*\})?"
#: ``[ROOT] %name = dtype[dims]{layout} opcode(operands), attributes`` (array-shaped instructions only).
_INSTR = re.compile(r"^\s*(?:ROOT\s+)?%?(?P<name>[\w.\-]+)\s*=\s*" + _SHAPE
                    + r"\s+(?P<op>[\w\-]+)\((?P<args>[^)]*)\)(?P<attrs>.*)$")
_OPERAND = re.compile(r"(?:(?P<dtype>[a-z]+[0-9]*)\[(?P<dims>[0-9,]*)\](?:\{[^}]*\})?\s+)?%?(?P<name>[\w.\-]+)")
_GEMM_CALL = re.compile(r"custom_call_target=\"[^\"]*(?:gemm|matmul|cublas|onednn)[^\"]*\"", re.IGNORECASE)


#: HLO element types -> NumPy/JAX dtype names (for rebuilding a dot's operands).
_DTYPES = {"f64": "float64", "f32": "float32", "f16": "float16", "bf16": "bfloat16", "c64": "complex64",
           "c128": "complex128"}


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.split(",") if t)


def _dims_attr(attrs: str, key: str) -> tuple[int, ...]:
    m = re.search(rf"\b{key}=\{{([0-9,]*)\}}", attrs)
    return _ints(m.group(1)) if m else ()


def hlo_dots(hlo_text: str) -> list[HloDot]:
    """Every ``dot`` instruction of an HLO module's text (``compiled.as_text()``), in text order.

    Dots inside fused computations are included (each instruction once: XLA gives every fusion its own
    computation).  Operand shapes are read inline where printed, else from the operand's defining
    instruction in the same computation (a ``parameter`` of a fused computation, or an instruction of the
    caller).  A dot whose operand shape cannot be found is a ``ValueError`` naming it.
    """
    shapes: dict[str, tuple[str, tuple[int, ...]]] = {}
    pending: list[tuple[re.Match, list[re.Match]]] = []
    out: list[HloDot] = []

    def flush() -> None:
        for m, ops in pending:
            resolved = []
            for o in ops:
                if o.group("dtype") is not None:
                    resolved.append((o.group("dtype"), _ints(o.group("dims"))))
                elif o.group("name") in shapes:
                    resolved.append(shapes[o.group("name")])
                else:
                    raise ValueError(f"hlo_dots: dot {m.group('name')}: no shape for operand {o.group('name')!r}")
            (ld, ls), (rd, rs) = resolved
            attrs = m.group("attrs")
            out.append(HloDot(
                name=m.group("name"), lhs_shape=ls, rhs_shape=rs, lhs_dtype=ld, rhs_dtype=rd,
                out_shape=_ints(m.group("dims")), out_dtype=m.group("dtype"),
                lhs_contracting=_dims_attr(attrs, "lhs_contracting_dims"),
                rhs_contracting=_dims_attr(attrs, "rhs_contracting_dims"),
                lhs_batch=_dims_attr(attrs, "lhs_batch_dims"), rhs_batch=_dims_attr(attrs, "rhs_batch_dims")))
        pending.clear()

    for line in hlo_text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith("{"):  # a computation's header
            flush()
            shapes = {}
            continue
        m = _INSTR.match(line)
        if not m:
            continue
        shapes[m.group("name")] = (m.group("dtype"), _ints(m.group("dims")))
        if m.group("op") == "dot":
            ops = list(_OPERAND.finditer(m.group("args")))
            if len(ops) != 2:
                raise ValueError(f"hlo_dots: dot {m.group('name')}: expected 2 operands, got {m.group('args')!r}")
            pending.append((m, ops))  # an operand may be defined later in the text
    flush()
    return out


def _unparsed_gemm_calls(hlo_text: str) -> int:
    """Library GEMM custom calls (cuBLAS, oneDNN) in the HLO: products :func:`hlo_dots` does not see."""
    return sum(1 for line in hlo_text.splitlines() if "custom-call(" in line and _GEMM_CALL.search(line))


def time_dot(dot: HloDot, repeats: int = 3) -> float:
    """Best wall time (seconds) of ``dot`` alone: ``jax.lax.dot_general`` on random operands of its shapes,
    dtypes and dimension numbers, jitted, compiled and run once before timing, ``block_until_ready``.
    The operands are fresh row-major arrays: XLA picks the layout, as it does for a square matmul.  The time
    includes one dispatch (tens of microseconds on a CPU): for tiny products it is mostly that overhead."""
    import jax
    import jax.numpy as jnp

    for t in (dot.lhs_dtype, dot.rhs_dtype):
        if t not in _DTYPES:
            raise ValueError(f"time_dot: dot {dot.name}: element type {t!r} not one of {', '.join(_DTYPES)}")
    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.standard_normal(dot.lhs_shape), dtype=_DTYPES[dot.lhs_dtype])
    b = jnp.asarray(rng.standard_normal(dot.rhs_shape), dtype=_DTYPES[dot.rhs_dtype])
    dn = ((dot.lhs_contracting, dot.rhs_contracting), (dot.lhs_batch, dot.rhs_batch))
    f = jax.jit(lambda x, y: jax.lax.dot_general(x, y, dn)).lower(a, b).compile()
    f(a, b).block_until_ready()
    return _best(lambda: f(a, b), repeats)


def gemm_roofline(compiled: Any, repeats: int = 3) -> dict[str, Any]:
    """The measured GEMM bound of a compiled function (``jax.jit(f).lower(...).compile()``).

    Every ``dot`` of its optimized HLO (:func:`hlo_dots`) is timed alone (:func:`time_dot`; equal products
    timed once and counted ``count`` times).  Returns ``gemm_s = sum count x t`` (seconds: the function's
    time if it did nothing but its own products, each at the rate this machine reaches on that shape),
    ``gemm_flop = sum count x flop``, ``gemm_unparsed`` (library GEMM custom calls not counted, e.g. cuBLAS
    on a GPU: then ``gemm_s`` is a lower bound of the products' time) and ``gemms``: one entry per distinct
    product (``shape`` text, ``count``, ``flop``, ``seconds``, ``flop_per_s``).
    """
    text = compiled.as_text()
    groups: dict[tuple, list[HloDot]] = {}
    for d in hlo_dots(text):
        groups.setdefault(d.signature, []).append(d)
    gemms = []
    for ds in groups.values():
        t = time_dot(ds[0], repeats)
        gemms.append({"shape": ds[0].describe(), "lhs": list(ds[0].lhs_shape), "rhs": list(ds[0].rhs_shape),
                      "dtype": ds[0].lhs_dtype, "lhs_contracting": list(ds[0].lhs_contracting),
                      "rhs_contracting": list(ds[0].rhs_contracting), "lhs_batch": list(ds[0].lhs_batch),
                      "rhs_batch": list(ds[0].rhs_batch), "count": len(ds), "flop": ds[0].flop, "seconds": t,
                      "flop_per_s": ds[0].flop / t})
    return {"gemm_s": sum(g["count"] * g["seconds"] for g in gemms),
            "gemm_flop": sum(g["count"] * g["flop"] for g in gemms),
            "gemm_unparsed": _unparsed_gemm_calls(text), "gemms": gemms}


def _fractions(row: dict[str, Any], peak: float, bandwidth: float | None) -> None:
    """(Re)derive a row's fractions from its measured times and FLOPs and the given peak / bandwidth.

    ``*_peak_fraction = flop / s / peak``; roofline bound ``min(peak, intensity x bandwidth)`` with
    ``intensity = flop_per_hvp / bytes_per_hvp``; ``hvp_gemm_fraction = gemm_s / s_per_hvp``;
    ``gemm_peak_fraction = gemm_flop / gemm_s / peak``.
    """
    row["grad_peak_fraction"] = row["flop_per_grad"] / row["s_per_grad"] / peak
    row["hvp_peak_fraction"] = row["flop_per_hvp"] / row["s_per_hvp"] / peak
    bh = row.get("bytes_per_hvp")
    if bandwidth and bh:
        bound = min(peak, row["hvp_intensity"] * bandwidth)
        row.update({"hvp_roofline_flop_per_s": bound,
                    "hvp_roofline_fraction": row["flop_per_hvp"] / row["s_per_hvp"] / bound})
    if "solve_flop_per_s" in row:
        row["solve_peak_fraction"] = row["solve_flop_per_s"] / peak
    if "gemm_s" in row:
        ok = row["gemm_s"] > 0
        row["hvp_gemm_fraction"] = row["gemm_s"] / row["s_per_hvp"]
        row["gemm_peak_fraction"] = row["gemm_flop"] / row["gemm_s"] / peak if ok else None


def bench_case(case_name: str, batches: Sequence[int], *, runs: int, max_iter: int = 500, tol: float = 1e-10,
               peak: float, repeats: int = 3, case_params: dict | None = None,
               bandwidth: float | None = None, gemm: bool = False) -> dict[str, Any]:
    """Oracle and Newton-MR figures of one case (see the module docstring).

    ``peak`` (FLOP/s) and ``bandwidth`` (bytes/s) set the fractions (:func:`run_bench` re-derives them with
    the best reading of the whole run).  ``gemm``: add the HVP's measured GEMM roofline
    (:func:`gemm_roofline`; per HVP: ``gemm_s`` and ``gemm_flop`` are the batched call's divided by the batch).
    """
    import jax
    import jax.numpy as jnp

    from cases import get_case
    from harness.jitcache.compile_cache import CompileCounter
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
        }
        bh = _cost(h_c, "bytes accessed") / b
        if bandwidth and bh > 0:
            row.update({"bytes_per_hvp": bh, "hvp_intensity": fh / bh, "hvp_bytes_per_s": bh * b / th_})
        if gemm:
            gr = gemm_roofline(h_c, repeats)
            row.update({"gemm_s": gr["gemm_s"] / b, "gemm_flop": gr["gemm_flop"] / b,
                        "gemm_unparsed": gr["gemm_unparsed"], "gemms": gr["gemms"]})
        _fractions(row, peak, bandwidth)
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
        hv, gr_ = int(res.hvps.sum()), int(res.grads.sum())
        flop = hv * fh + gr_ * fg
        row.update({
            "runs": n, "successes": succ, "solve_s": wall, "s_per_newton_iter": wall / max(iters, 1),
            "s_per_minres_iter": wall / max(kry, 1), "s_per_success": wall / succ if succ else None,
            "hvps": hv, "grads": gr_, "lane_utilization": res.lane_utilization,
            "solve_flop_per_s": flop / wall,
        })
        _fractions(row, peak, bandwidth)
        out["batches"].append(row)
    return out


def run_bench(cases: Sequence[str] = DEFAULT_CASES, batches: Sequence[int] = DEFAULT_BATCHES, *, runs: int = 100,
              max_iter: int = 500, quick: bool = False, sizes: Sequence[str] = ()) -> dict[str, Any]:
    """All figures as one JSON-friendly dict (``quick``: small sizes for tests, the quartic case plus a small
    DLAE with HVP figures only, or the cases given (not the defaults) at their ``small_params``; ``sizes``: keys of :data:`SIZES`, each a DLAE at batch 1 in place of ``cases``).

    The matmul peak and the stream bandwidth are read (:class:`Readings`) before the first case and after
    each case; ``matmul_peak`` / ``memory_bandwidth`` in the result are the best readings (with
    ``min/median/max/readings``), and every row's fractions are derived from them at the end.  ``--size``
    rows and ``quick`` rows carry the HVP's measured GEMM roofline (:func:`gemm_roofline`).
    """
    import jax

    from harness.run import provenance

    bad = [s for s in sizes if s not in SIZES]
    if bad:
        raise ValueError(f"--size {bad[0]!r}: choose from {', '.join(SIZES)}")
    from cases import case_names, case_spec

    unknown = [c for c in cases if c not in case_names()]
    if unknown:
        raise ValueError(f"unknown case {unknown[0]!r}; choose from {', '.join(case_names())}")
    chosen = tuple(cases) != tuple(DEFAULT_CASES)
    params: dict[str, dict | None] = {c: None for c in cases}
    if quick:  # the given cases at their small parameters, else the quartic (plus a small DLAE's HVP row)
        cases = tuple(cases) if chosen else ("quartic",)
        params = {c: dict(case_spec(c).small_params) if chosen else None for c in cases}
        batches, runs, max_iter = (1, 4), 8, 50
    jobs = [("dlae", (1,), dict(SIZES[s]), runs) for s in sizes] or [(c, tuple(batches), params[c], runs)
                                                                       for c in cases]
    if quick and not sizes and not chosen:
        jobs.append(("dlae", (1,), dict(QUICK_SIZE), 0))
    meter = Readings(QUICK_PEAK_SIZES if quick else PEAK_SIZES, 2**20 if quick else 8 * 2**20, 2 if quick else 5)
    meter.read("start")
    dev = jax.devices()[0]
    out: dict[str, Any] = {
        "device": {"platform": dev.platform, "kind": getattr(dev, "device_kind", str(dev)),
                   "backend": jax.default_backend()},
        "cases": [], "provenance": provenance.collect(),
    }
    for c, bs, params, r in jobs:
        out["cases"].append(bench_case(c, bs, runs=r, max_iter=max_iter,
                                       peak=meter.matmul()["flops_per_s"], repeats=2 if quick else 3,
                                       bandwidth=meter.stream()["bytes_per_s"], case_params=params,
                                       gemm=bool(sizes) or quick))
        meter.read(f"after {c} dim {out['cases'][-1]['dim']}")
    peak, bw = meter.matmul(), meter.stream()
    out["matmul_peak"], out["memory_bandwidth"] = peak, bw
    for case in out["cases"]:
        for row in case["batches"]:
            if "error" not in row:
                _fractions(row, peak["flops_per_s"], bw["bytes_per_s"])
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def _spread(summary: dict[str, Any], key: str, scale: float, unit: str) -> str:
    """``"236.0 GFLOP/s (best of 8; min 54.1, median 99.0)"`` for a :class:`Readings` summary."""
    if "readings" not in summary:  # a single reading (older JSON)
        return f"{summary[key] / scale:.1f} {unit}"
    return (f"{summary[key] / scale:.1f} {unit} (best of {len(summary['readings'])}; "
            f"min {summary['min'] / scale:.1f}, median {summary['median'] / scale:.1f})")


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table of :func:`run_bench`'s result, then each GEMM-roofline row's products."""
    d = result["device"]
    lines = [f"device: {d['kind']} ({d['platform']}); f64 matmul peak "
             f"{_spread(result['matmul_peak'], 'flops_per_s', 1e9, 'GFLOP/s')}; stream bandwidth "
             f"{_spread(result.get('memory_bandwidth', {'bytes_per_s': math.nan}), 'bytes_per_s', 1e9, 'GB/s')}; "
             f"peak RSS {result['peak_rss_mb']:.0f} MB"]
    hdr = ("case", "dim", "batch", "MB/hvp", "us/grad", "us/hvp", "hvp/grad", "hvp %peak", "hvp flop/byte",
           "hvp %roofline", "hvp %gemm-bound", "gemm %peak",
           "compile cold s", "compile warm s",
           "ms/NM iter", "ms/MINRES it", "s/success", "lane util", "solve %peak")
    lines.append(" | ".join(hdr))
    details = []
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
            gp = r.get("gemm_peak_fraction")
            lines.append(" | ".join([
                c["case"], str(c["dim"]), str(r["batch"]), f"{r.get('bytes_per_hvp', math.nan) / 1e6:.3g}",
                f"{1e6 * r['s_per_grad']:.3g}", f"{1e6 * r['s_per_hvp']:.3g}",
                f"{r['hvp_grad_ratio']:.2f}", f"{100 * r['hvp_peak_fraction']:.1f}",
                f"{r['hvp_intensity']:.2f}" if "hvp_intensity" in r else "-",
                f"{100 * r['hvp_roofline_fraction']:.0f}" if "hvp_roofline_fraction" in r else "-",
                f"{100 * r['hvp_gemm_fraction']:.0f}" if "hvp_gemm_fraction" in r else "-",
                f"{100 * gp:.1f}" if gp is not None else "-",
                f"{r['compile_s_cold']:.2f}",
                f"{r['compile_s_warm']:.2f}", f"{1e3 * r['s_per_newton_iter']:.3g}",
                f"{1e3 * r['s_per_minres_iter']:.3g}", sps, f"{r['lane_utilization']:.3f}",
                f"{100 * r['solve_peak_fraction']:.1f}"]))
            if "gemms" in r:
                details.append(_gemm_lines(c, r, result["matmul_peak"]["flops_per_s"]))
    if details:
        lines += ["", "GEMM roofline (each dot of the compiled batched HVP timed alone; totals per HVP):", *details]
    return "\n".join(lines)


def _gemm_lines(case: dict[str, Any], r: dict[str, Any], peak: float) -> str:
    """The products of one row: ``count x shape: ms, GFLOP/s, % of peak`` per distinct dot."""
    b = r["batch"]
    n = sum(g["count"] for g in r["gemms"])
    head = (f"{case['case']} dim {case['dim']} batch {b}: {n} dots, {r['gemm_flop'] / 1e9:.3g} GFLOP "
            f"(XLA: {r['flop_per_hvp'] / 1e9:.3g} for the whole HVP), gemm {1e3 * r['gemm_s']:.3g} ms "
            f"vs HVP {1e3 * r['s_per_hvp']:.3g} ms")
    if r.get("gemm_unparsed"):
        head += f"; {r['gemm_unparsed']} library GEMM calls not counted"
    rows = [head]
    for g in sorted(r["gemms"], key=lambda g: -g["count"] * g["seconds"]):
        rows.append(f"  {g['count']} x {g['shape']}: {1e3 * g['seconds']:.3g} ms each, "
                    f"{g['flop_per_s'] / 1e9:.3g} GFLOP/s ({100 * g['flop_per_s'] / peak:.0f}% of peak)")
    return "\n".join(rows)


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
