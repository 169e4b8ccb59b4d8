"""A Dask back end of :func:`harness.run.execute.execute` (sweeps on a cluster).

It implements the :class:`harness.run.pool.Backend` interface on a
``dask.distributed.Client``: each block of runs is one Dask task,
:func:`solve_on_dask_worker`, which runs the worker half of the pipeline
(:func:`harness.run.worker.run_task`: build the case and solver, warm up, solve)
in a Dask worker process and returns the reply bytes of
:func:`harness.run.worker.encode_reply`.  The client (the parent of
``execute``) decodes them without unpickling, checks, scores and stores: the
judge is the client, exactly as with the process pool.

Failures:

* a solver exception is a reply (``error`` rows), as in the pool;
* ``SystemExit`` and other ``BaseException`` inside the solver are caught in
  the task and answered ``fatal`` (the Dask worker stays up);
* a task that fails for a reason outside the solver (a killed worker: Dask's
  ``KilledWorker`` once the scheduler's ``allowed-failures`` are used up, a lost
  connection) is resubmitted up to ``max_retries`` times (counted in
  :attr:`DaskBackend.retried`), then its block becomes ``error`` records;
* a block past its time limit is cancelled and becomes ``timeout`` records; the
  Dask worker that ran it is restarted (best effort), since a running Python
  call cannot be interrupted.

Limits of the trust boundary here (``docs/design.md``): Dask moves results
with its own serialisation, so a solver that rewrites its worker's Dask
protocol could attack the client's deserialiser; the process pool, which reads
plain bytes, has no such surface.  Use the process pool (``critbench run``) to
score untrusted plug-ins.
"""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

from harness.run.limits import DEFAULT_TIME_LIMIT
from harness.run.pool import _reply_outcome
from harness.run.cell import SolverRef
from harness.run.wire import ProtocolError, ReplyLimits
from harness.run.worker import SolveTask, WorkerState, decode_reply, encode_reply, indices_text

__all__ = ["DaskBackend", "solve_on_dask_worker"]

#: What one Dask worker process keeps between tasks (built cells, warmed shapes).
_STATE: dict[str, Any] = {"state": None, "cache": None}


def _worker_state(cache: str | None) -> WorkerState:
    if cache and _STATE["cache"] != cache:
        from harness.jitcache.compile_cache import enable_compile_cache

        enable_compile_cache(cache)
        _STATE["cache"] = cache
    if _STATE["state"] is None:
        _STATE["state"] = WorkerState()
    return _STATE["state"]


def solve_on_dask_worker(task: SolveTask, cache: str | None = None, time_limit: float | None = None,
                         hidden: tuple[str, ...] = ()) -> dict[str, Any]:
    """The Dask task: the worker half of the pipeline for one block.

    A built-in solver runs in the Dask worker's process (trusted code); a plug-in runs in a fresh
    sandboxed subprocess (:func:`harness.run.pool.solve_in_worker`), never in the Dask worker.
    Returns ``{"sandbox", "meter", "payload"}`` (the encoded reply) or ``{"sandbox", "meter",
    "outcome": [kind, reason]}``."""
    from harness.run.pool import solve_in_worker
    from harness.run.sandbox import probe
    from harness._format import exception_line
    from harness.run.worker import run_task

    if not task.solver_ref.builtin:
        kind = probe().kind
        what, value, meter = solve_in_worker(task, time_limit, sandbox=kind, hidden=hidden)
        if what == "reply":
            return {"sandbox": kind, "meter": meter, "payload": encode_reply(*value)}
        return {"sandbox": kind, "meter": meter, "outcome": [what, value]}
    state = _worker_state(cache)
    t, c = time.monotonic(), time.process_time()

    def meter() -> dict[str, float]:
        return {"judge_wall_seconds": time.monotonic() - t, "judge_cpu_seconds": time.process_time() - c}

    try:
        head, arrays = run_task(task, state)
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt inside the solver
        code = exc.code if isinstance(exc, SystemExit) else None
        state.cells.pop(task.cell, None)  # do not reuse what that solver may have left behind
        return {"sandbox": "trusted", "meter": meter(), "payload": encode_reply(
            {"fatal": exception_line(exc), "exit_code": code if isinstance(code, int) else None}, {})}
    return {"sandbox": "trusted", "meter": meter(), "payload": encode_reply(head, arrays)}


def describe_on_dask_worker(ref: SolverRef, cache: str | None = None,
                            time_limit: float | None = None) -> dict[str, Any]:
    """The Dask task that loads a plug-in solver in a sandboxed subprocess of a Dask worker and
    describes it (never in the client, never in the Dask worker's own process)."""
    from harness.run.pool import describe_in_worker
    from harness.run.sandbox import probe

    return describe_in_worker(ref, time_limit, sandbox=probe().kind)


class DaskBackend:
    """Blocks of runs as Dask tasks on ``client`` (see the module docstring).

    Args:
        client: a connected ``dask.distributed.Client`` (owned by the caller), or a
            callable returning one (called when the client is first needed).
        max_retries: resubmissions of a task that failed outside the solver.
        compile_cache: JAX persistent compilation cache directory for the workers.
        in_flight: tasks submitted at once per worker thread.  A block's time limit runs from its
            submission, so the default (1) keeps tasks from waiting in the scheduler's queue on their clock.
    """

    #: execute() may run more blocks of one cell at once than the cell's CPU thread count
    cap_per_cell = False

    def __init__(self, client: Any, *, max_retries: int = 2, compile_cache: str | None = None,
                 in_flight: int = 1) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        self._connect = client if callable(client) and not hasattr(client, "submit") else (lambda: client)
        self.max_retries = max_retries
        self.cache = None if compile_cache is None else str(compile_cache)
        self.per_slot = max(1, int(in_flight))
        self.retried = 0
        #: blocks lost outside the solver (after retries) or past the time limit, and why
        self.failed_blocks = 0
        self.failures: list[str] = []
        self._tickets = itertools.count()
        self._live: dict[int, dict[str, Any]] = {}
        #: seconds a plug-in may take to load (the per-run time limit); folders plug-ins must not see
        self.describe_limit: float | None = DEFAULT_TIME_LIMIT
        self.hidden: list[str] = []

    @property
    def sandbox(self) -> str:
        """How plug-ins run on this machine's workers (each Dask worker probes its own; records say which)."""
        from harness.run.sandbox import probe

        return probe().kind

    @property
    def client(self) -> Any:
        return self._connect()

    def slots(self) -> int:
        try:
            workers = self.client.scheduler_info().get("workers", {})
            return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        except Exception:  # noqa: BLE001 - a scheduler that does not answer: one at a time
            return 1

    def ensure(self, n: int) -> None:
        """The cluster's size is the caller's; nothing to grow."""

    def free(self) -> int:
        return max(0, self.per_slot * self.slots() - len(self._live))

    def describe(self, solver_ref: SolverRef) -> dict[str, Any]:
        limit = self.describe_limit
        fut = self.client.submit(describe_on_dask_worker, solver_ref, self.cache, limit, pure=False,
                                 key=f"critbench-describe-{uuid.uuid4().hex}")
        try:
            info = fut.result(timeout=(limit or DEFAULT_TIME_LIMIT) + 60)
        except Exception as exc:  # noqa: BLE001 - a worker that died or hung while loading the plug-in
            return {"error": f"cannot load solver on a Dask worker: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")}
        return info if isinstance(info, dict) else {"error": "malformed reply of a Dask worker"}

    def _submit(self, ticket: int, task: SolveTask, limit: float | None, attempt: int) -> None:
        fut = self.client.submit(solve_on_dask_worker, task, self.cache, limit, tuple(self.hidden), pure=False,
                                 key=f"critbench-solve-{task.cell[:8]}-{task.indices[0]}-{attempt}-{uuid.uuid4().hex[:8]}")
        self._live[ticket] = {"fut": fut, "task": task, "limit": limit, "attempt": attempt,
                              "deadline": time.monotonic() + limit if limit else float("inf")}

    def submit(self, task: SolveTask, time_limit: float | None) -> int:
        ticket = next(self._tickets)
        self._submit(ticket, task, time_limit, 0)
        return ticket

    def _outcome(self, ticket: int, item: dict[str, Any]) -> tuple | None:
        """The outcome of a finished future, or None when it was resubmitted."""
        fut, task = item["fut"], item["task"]
        where = indices_text(task.seed, task.indices)
        if fut.status == "finished":
            try:
                got = fut.result()
                meter: dict[str, Any] = {k: float(v) for k, v in dict(got.get("meter") or {}).items()
                                         if k in ("judge_wall_seconds", "judge_cpu_seconds")}
                meter["sandbox"] = str(got.get("sandbox", "none"))
                if "outcome" in got:
                    kind, reason = got["outcome"]
                    return (kind if kind in ("timeout", "invalid") else "died", f"{reason} (Dask worker)", meter)
                head, arrays = decode_reply(got["payload"], ReplyLimits.for_task(task))
            except ProtocolError as exc:
                return exc.as_outcome(where, {})
            except Exception as exc:  # noqa: BLE001 - not the task's dict, or malformed
                return ("died", f"malformed Dask task result ({type(exc).__name__}) during {where}", {})
            finally:
                fut.release()
            out = _reply_outcome(head, arrays, task, meter)
            return out if out[0] == "reply" else (out[0], f"{out[1]} (Dask worker)", out[2])
        exc = fut.exception() if fut.status == "error" else None
        fut.release()
        if item["attempt"] < self.max_retries:
            self.retried += 1
            self._submit(ticket, task, item["limit"], item["attempt"] + 1)
            return None
        what = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ") if exc else fut.status
        reason = f"Dask task failed {item['attempt'] + 1} times during {where}: {what}"
        self.failed_blocks += 1
        self.failures.append(reason)
        return ("died", reason)

    def wait(self, timeout: float | None) -> list[tuple[int, tuple]]:
        from dask.distributed import wait as dask_wait

        done: list[tuple[int, tuple]] = []
        while self._live and not done:
            now = time.monotonic()
            until = min(item["deadline"] for item in self._live.values()) - now
            t = until if timeout is None else min(timeout, until)
            futs = [item["fut"] for item in self._live.values()]
            try:
                dask_wait(futs, timeout=None if t == float("inf") else max(0.05, t), return_when="FIRST_COMPLETED")
            except TimeoutError:
                pass
            for ticket, item in list(self._live.items()):
                if item["fut"].done():
                    del self._live[ticket]
                    outcome = self._outcome(ticket, item)
                    if outcome is not None:
                        done.append((ticket, outcome))
            now = time.monotonic()
            for ticket, item in [(k, v) for k, v in self._live.items() if v["deadline"] <= now]:
                del self._live[ticket]
                self._kill(item["fut"])
                task = item["task"]
                reason = (f"time limit {item['limit']:g} s exceeded during {indices_text(task.seed, task.indices)}; "
                          "Dask task cancelled")
                self.failed_blocks += 1
                self.failures.append(reason)
                done.append((ticket, ("timeout", reason)))
            if timeout is not None:
                break
        return done

    def _kill(self, fut: Any) -> None:
        """Cancel ``fut`` and restart the worker running it (a running call cannot be interrupted)."""
        try:
            busy = [addr for addr, keys in self.client.processing().items() if fut.key in keys]
            fut.cancel()
            if busy and hasattr(self.client, "restart_workers"):
                self.client.restart_workers(workers=busy)
        except Exception:  # noqa: BLE001 - best effort: the block is recorded as timeout either way
            pass

    def abandon(self) -> None:
        for item in self._live.values():
            self._kill(item["fut"])
        self._live.clear()

    def close(self) -> None:
        self.abandon()
