"""The worker: the only code that runs a solver.  It solves, and nothing else.

A worker (a process ``python -m harness.run.worker --fd N`` of
:mod:`harness.run.pool`, sandboxed for a plug-in, or the calling process for the
trusted in-process back end) receives :class:`SolveTask` values,
rebuilds the case and the solver from ``(name, params/options)`` (or unpickles
objects given by Python callers of :mod:`harness.testing`), hands the solver a
read-only copy of the initial points and a copy of the data
(:func:`isolated_data`), and answers with plain arrays:
``theta, status, n_iter, hvps, grads``, the trace, the snapshots, the maximally
flat iterate (``max_r_*``), and the
wall times of the solve and of its compile warm-up.  It never scores, never
opens the store.

Replies cross the trust boundary as frames of :mod:`harness.run.wire` (task id,
length, a JSON header and an uncompressed ``.npz`` body read with
``allow_pickle=False``, within the task's size limits).  The parent never unpickles
anything a worker (and so a solver) could have written; requests (the parent's
own, trusted) are pickled frames the worker reads.

Warm-up (compile once): the first task of a cell with a given
``(shape, lanes)`` on a worker is preceded by one untimed call with
``tol = 1e300`` (every run converges at its initial point, but ``jit``
compiles the very executable, ``tol`` being traced); its wall time is
returned as ``compile_seconds`` (0 on later tasks of that worker).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness._format import exception_line
from harness.run.cell import CaseRef, SolverRef
from harness.run.wire import (ARRAY_FIELDS, ProtocolError, ReplyLimits, decode_payload, encode_frame,
                              encode_payload, read_frame_blocking, write_all)

__all__ = ["SolveTask", "WARMUP_TOL", "WorkerState", "decode_reply",
           "encode_reply", "isolated_data", "run_task", "solver_failure", "worker_main"]

#: ``tol`` of the compile warm-up call: every run converges at iteration 0.
WARMUP_TOL = 1e300


@dataclasses.dataclass(frozen=True)
class SolveTask:
    """One block of runs for a worker (a plain, picklable value).

    Attributes:
        cell: token naming the cell (a worker builds a cell's case/solver once).
        case_ref, solver_ref: how the worker builds the case and the solver (:mod:`harness.run.cell`).
        theta0: ``(rows, dim)`` float64 initial points (padded rows included).
        runs: real (unpadded) rows.
        max_iter, tol: the budget.
        lanes: refilling lanes, or None for the protocol's lockstep ``solve``.
        seed, indices: for failure reasons (global run indices).
    """

    cell: str
    case_ref: CaseRef
    solver_ref: SolverRef
    theta0: np.ndarray
    runs: int
    max_iter: int
    tol: float
    lanes: int | None
    seed: int
    indices: tuple[int, ...]


def build_case(ref: CaseRef) -> Any:
    """The case of ``ref``: rebuilt from (name, params) or unpickled."""
    return ref.build()


def build_solver(ref: SolverRef) -> Any:
    """The solver of ``ref``: built by the registry from (name, options) or unpickled."""
    return ref.build()


def solver_failure(exc: Exception, seed: int, indices: Sequence[int]) -> dict[int, tuple[str, str]]:
    """The rows of a shard whose solver raised ``exc``, as ``{row: (outcome, reason)}``.

    A :class:`~harness.solvers.numpy_adapter.NumpySolverError` carries the
    adapter's per-row verdicts (``row_rejections``; its other rows are then
    scored normally); any other exception fails the whole shard.  Every reason
    names the global run index and the seed (``critbench run --seed S --runs
    i+1`` reproduces run ``i``).
    """
    n = len(indices)
    per_row = getattr(exc, "row_rejections", None)
    if isinstance(per_row, Mapping) and getattr(exc, "partial", None) is not None:
        return {int(row): (outcome, f"run {indices[row]} (seed {seed}): {reason}")
                for row, (outcome, reason) in per_row.items() if 0 <= int(row) < n}
    where = f"run {indices[0]}" if n == 1 else f"runs {indices[0]}-{indices[-1]} (one batch)"
    return {row: ("error", f"solver raised on {where} (seed {seed}): {exception_line(exc)}") for row in range(n)}


def isolated_data(data: Any) -> Any:
    """A copy of the case data for a solver: a fresh pytree container whose
    NumPy leaves are read-only copies and whose JAX leaves are fresh (immutable)
    buffers, so nothing the solver does to it reaches the case that is scored."""
    import jax
    import jax.numpy as jnp

    def leaf(x: Any) -> Any:
        if isinstance(x, jax.Array):
            return jnp.array(x, copy=True)
        if isinstance(x, np.ndarray):
            y = np.array(x, copy=True)
            y.flags.writeable = False
            return y
        return x

    return jax.tree_util.tree_map(leaf, data)


@dataclasses.dataclass
class WorkerState:
    """What a worker keeps between tasks: built cells and warmed shapes."""

    cells: dict[str, tuple[Any, Any]] = dataclasses.field(default_factory=dict)
    warmed: set[tuple] = dataclasses.field(default_factory=set)


def _plain(res: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A solver's result as (JSON header, arrays): attributes missing stay missing,
    values that are not numeric arrays are named, never pickled."""
    head: dict[str, Any] = {"present": [], "bad": {}, "trace": None}
    arrays: dict[str, np.ndarray] = {}
    if res is None:
        head["none"] = True
        return head, arrays
    head["type"] = type(res).__name__

    def put(key: str, val: Any) -> None:
        try:
            a = np.asarray(val)
        except Exception as exc:  # noqa: BLE001
            head["bad"][key] = type(exc).__name__
            return
        if a.dtype.kind not in "biuf":
            head["bad"][key] = f"dtype {a.dtype}"
            return
        arrays[key] = a

    for name in ARRAY_FIELDS:
        if hasattr(res, name):
            head["present"].append(name)
            val = getattr(res, name)
            if val is None:
                head.setdefault("null", []).append(name)
            else:
                put(name, val)
    trace = getattr(res, "trace", None)
    if trace is not None:
        if isinstance(trace, Mapping):
            head["trace"] = [str(k) for k in trace]
            for k, v in trace.items():
                put(f"trace/{k}", v)
        else:
            head["trace_type"] = type(trace).__name__
    lanes, util = getattr(res, "lanes", None), getattr(res, "lane_utilization", None)
    head["lanes"] = None if lanes is None else int(lanes)
    head["lane_utilization"] = None if util is None else float(util)
    head["hfro_method"] = str(getattr(res, "hfro_method", "none"))
    return head, arrays


def run_task(task: SolveTask, state: WorkerState) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Solve ``task`` (building/warming its cell first); the reply as (header, arrays).

    An ``Exception`` of the solver is a reply (``failure``, with per-row
    verdicts of the NumPy adapter); any other ``BaseException`` is re-raised
    for :func:`worker_main` to report and exit.
    """
    from harness.solvers import Problem, supports_refill

    head: dict[str, Any] = {"compile_seconds": 0.0, "seconds": float("nan")}
    try:
        if task.cell not in state.cells:
            while len(state.cells) >= 16:  # a long-lived worker keeps the latest cells only
                state.cells.pop(next(iter(state.cells)))
            state.cells[task.cell] = (build_case(task.case_ref), build_solver(task.solver_ref))
    except Exception as exc:  # noqa: BLE001 - a plug-in that cannot be built fails its runs
        head["failure"] = {str(r): v for r, v in solver_failure(exc, task.seed, task.indices).items()}
        return head, {}
    case, solver = state.cells[task.cell]
    theta0 = np.asarray(task.theta0, dtype=np.float64)
    refill = task.lanes is not None and supports_refill(solver)

    def call(x: np.ndarray, tol: float) -> Any:
        problem = Problem(case.loss_fn, isolated_data(case.data), case.dim)
        given = x.copy()
        given.flags.writeable = False
        if refill:
            return solver.solve_refill(problem, given, max_iter=task.max_iter, tol=tol, lanes=int(task.lanes),
                                       runs=task.runs)
        return solver.solve(problem, given, max_iter=task.max_iter, tol=tol)

    wkey = (task.cell, theta0.shape, task.lanes)
    if wkey not in state.warmed:
        t = time.perf_counter()
        try:
            call(theta0, WARMUP_TOL)
        except Exception:  # noqa: BLE001 - a failing solver fails in the timed call, where it becomes records
            pass
        head["compile_seconds"] = time.perf_counter() - t
        state.warmed.add(wkey)
    t = time.perf_counter()
    try:
        res = call(theta0, task.tol)
    except Exception as exc:  # the solver's failure is a result
        rejected = solver_failure(exc, task.seed, task.indices)
        head["seconds"] = time.perf_counter() - t
        head["failure"] = {str(r): list(v) for r, v in rejected.items()}
        partial = getattr(exc, "partial", None) if len(rejected) < len(task.indices) else None
        if partial is not None:
            h, arrays = _plain(partial)
            head["result"] = h
            return head, arrays
        return head, {}
    head["seconds"] = time.perf_counter() - t
    h, arrays = _plain(res)
    head["result"] = h
    return head, arrays


def encode_reply(head: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    """A reply's payload (:func:`harness.run.wire.encode_payload`): decodable without unpickling."""
    return encode_payload(head, arrays)


def decode_reply(blob: bytes, limits: ReplyLimits | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Inverse of :func:`encode_reply` under ``limits`` (:class:`~harness.run.wire.ProtocolError`,
    a ``ValueError``, on anything malformed or too large)."""
    if not isinstance(blob, (bytes, bytearray)):
        raise ProtocolError(f"malformed worker reply ({type(blob).__name__}, not bytes)")
    return decode_payload(bytes(blob), limits)


class Result:
    """A solve result rebuilt by the parent from a decoded reply (what
    :func:`harness.run.judge.check_result` and ``build_records`` read)."""

    def __init__(self, head: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        for name in head.get("present", []):
            if name in head.get("bad", {}):
                setattr(self, name, _Unreadable(head["bad"][name]))
            else:
                setattr(self, name, arrays.get(name))
        if head.get("trace") is not None:
            self.trace = {k: arrays.get(f"trace/{k}", _Unreadable(head.get("bad", {}).get(f"trace/{k}", "missing")))
                          for k in head["trace"]}
        elif head.get("trace_type"):
            self.trace = _Unreadable(head["trace_type"])
        else:
            self.trace = None
        self.lanes = head.get("lanes")
        self.lane_utilization = head.get("lane_utilization")
        self.hfro_method = str(head.get("hfro_method", "none"))


class _Unreadable:
    """Stands for a value a worker could not send as a numeric array (check_result rejects it)."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __array__(self, *a: Any, **k: Any) -> np.ndarray:
        raise TypeError(f"not a numeric array ({self.why})")

    def __repr__(self) -> str:
        return f"<unreadable: {self.why}>"


def worker_main(fd: int, cache: str | None) -> None:
    """Entry point of a worker process (``python -m harness.run.worker --fd N``): :func:`_serve`,
    and never a traceback on the terminal (an unexpected failure of the worker itself is one line
    on stderr; the parent then sees the worker's death and records it)."""
    try:
        _serve(fd, cache)
    except BaseException as exc:  # noqa: BLE001
        try:
            os.write(2, f"critbench worker: {exception_line(exc)}\n".encode())
        finally:
            os._exit(4)


def _exit_with_parent(poll: float = 1.0) -> None:
    """Exit as soon as the parent is gone (killed with SIGKILL, say), even in the middle of
    a solve: a daemon thread watches ``os.getppid()``.  Without it a worker busy in a
    long solve outlives a killed parent and keeps the cores until the solve ends."""
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, name="critbench-parent-watch", daemon=True).start()


def _follow_import_path(path: Any) -> None:
    """Take the parent's current ``sys.path`` (sent with every request): a worker is spawned with
    the parent's path of that moment, and a long-lived pool must still find a plug-in whose folder
    the parent put on the path later (the same module names resolve in both processes)."""
    if isinstance(path, list) and all(isinstance(p, str) for p in path) and path != sys.path:
        import importlib

        sys.path[:] = path
        importlib.invalidate_caches()


def _serve(fd: int, cache: str | None) -> None:
    """Loop of a worker on the socket ``fd``: request frames (:mod:`harness.run.wire`) holding
    ``("solve", task, sys_path)`` / ``("describe", ref, sys_path)`` / ``("stop",)``, each
    answered by one reply frame carrying the request's task id.

    SIGINT is ignored (Ctrl-C is the parent's: blocks in flight finish).  A
    ``BaseException`` that is not an ``Exception`` (``SystemExit``...) inside a
    solve is answered as ``fatal`` and the worker exits: the parent respawns it.
    """
    import pickle

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    from harness.jitcache.compile_cache import enable_compile_cache

    if cache:
        enable_compile_cache(cache)
    import jax  # noqa: F401 - pay the import while the parent plans

    import harness.solvers  # noqa: F401
    state = WorkerState()

    def reply(tid: int, head: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        write_all(fd, encode_frame(tid, encode_payload(head, arrays)))

    while True:
        try:
            tid, payload = read_frame_blocking(fd)
            msg = pickle.loads(payload)  # the judge's own request (the trusted direction)
        except (EOFError, OSError):
            os._exit(0)
        if msg[0] == "stop":
            os._exit(0)
        _follow_import_path(msg[-1])
        if msg[0] == "describe":
            reply(tid, {"describe": msg[1].describe()}, {})
            continue
        task: SolveTask = msg[1]
        try:
            head, arrays = run_task(task, state)
        except BaseException as exc:  # noqa: BLE001 - sys.exit, KeyboardInterrupt, ... inside the solver
            code = exc.code if isinstance(exc, SystemExit) else None
            try:
                reply(tid, {"fatal": exception_line(exc), "exit_code": code if isinstance(code, int) else None}, {})
            finally:
                os._exit(3)
        reply(tid, head, arrays)


def reason_rows(head: Mapping[str, Any], n: int) -> dict[int, tuple[str, str]]:
    """The ``failure`` rows of a reply as ``{row: (outcome, reason)}`` (rows outside ``0..n-1`` dropped)."""
    out: dict[int, tuple[str, str]] = {}
    for k, v in dict(head.get("failure") or {}).items():
        try:
            row, (outcome, reason) = int(k), v
        except (TypeError, ValueError):
            continue
        if 0 <= row < n and outcome in ("error", "invalid"):
            out[row] = (str(outcome), str(reason).splitlines()[0] if str(reason) else "solver failed")
    return out


def indices_text(seed: int, indices: Sequence[int]) -> str:
    """``runs 0-7 (seed 0)`` / ``run 3 (seed 0)``."""
    where = f"run {indices[0]}" if len(indices) == 1 else f"runs {indices[0]}-{indices[-1]}"
    return f"{where} (seed {seed})"


def _main(argv: Sequence[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(prog="python -m harness.run.worker", description="a critbench solver worker")
    p.add_argument("--fd", type=int, required=True, help="the socket to the judge (inherited)")
    p.add_argument("--cache", default="off", help="JAX compile-cache folder, or off")
    p.add_argument("--memory-limit", type=int, default=0, help="address-space limit in bytes (0: none)")
    p.add_argument("--nproc", type=int, default=0, help="RLIMIT_NPROC: tasks of this user in all (0: no limit)")
    ns = p.parse_args(argv)
    if ns.memory_limit or ns.nproc:
        from harness.run.sandbox import limit_resources

        limit_resources(ns.memory_limit or None, ns.nproc or None)
    worker_main(ns.fd, None if ns.cache == "off" else ns.cache)


if __name__ == "__main__":
    _main()
