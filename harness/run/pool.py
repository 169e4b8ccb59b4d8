"""Back ends of :func:`harness.run.execute.execute`: where solver tasks run.

The interface (:class:`Backend`) is small so that other back ends (a Dask
cluster) can implement it::

    slots() -> int                      tasks it runs at once now
    ensure(n) -> None                   grow to n slots (a hint; may be ignored)
    describe(solver_ref, given) -> dict the solver's name, complete options, refill support
                                        (asked of a worker: plug-in code never runs in the parent)
    submit(task, time_limit) -> ticket  start a SolveTask (only while free() > 0)
    free() -> int                       slots without a task
    wait(timeout) -> [(ticket, Outcome)] finished tasks (blocks up to ``timeout`` s)
    abandon() -> None                   kill the tasks in flight (a second Ctrl-C)
    close() -> None

An :class:`Outcome` is ``("reply", header, arrays)`` (the worker's decoded
answer, :func:`harness.run.worker.decode_reply`), ``("died", reason)`` or
``("timeout", reason)``.  A back end enforces the time limit itself (it is the
one that can kill a worker) and replaces a dead or killed worker.

* :class:`ProcessPool` (the default): spawned worker processes, each with a
  duplex pipe, dispatched with :func:`multiprocessing.connection.wait`; a
  worker that exits, is killed, or outlives its block's time limit is
  replaced.  One pool per process is shared by every command
  (:func:`shared_pool`), so each worker compiles a cell's shapes once and
  JAX's persistent compile cache setting of the parent is passed on.
* :class:`InlineBackend` (explicit only): solves in the calling process.  For
  trusted built-in solvers (registered names), when a test wants speed; it
  refuses plug-ins, and it enforces no time limit.
"""

from __future__ import annotations

import atexit
import itertools
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import wait as mp_wait
from typing import Any, Protocol

from harness.run.worker import SolveTask, WorkerState, decode_reply, encode_reply, indices_text, run_task, worker_main

__all__ = ["Backend", "InlineBackend", "ProcessPool", "is_builtin_solver", "shared_pool"]

Outcome = tuple
#: Seconds a worker may take to load and describe a solver (a plug-in that hangs at import).
DESCRIBE_TIMEOUT = 600.0


class Backend(Protocol):
    """Where :class:`~harness.run.worker.SolveTask` values are solved (see the module docstring)."""

    def slots(self) -> int: ...

    def ensure(self, n: int) -> None: ...

    def describe(self, solver_ref: tuple, given: dict[str, Any]) -> dict[str, Any]: ...

    def free(self) -> int: ...

    def submit(self, task: SolveTask, time_limit: float | None) -> int: ...

    def wait(self, timeout: float | None) -> list[tuple[int, Outcome]]: ...

    def abandon(self) -> None: ...

    def close(self) -> None: ...


def is_builtin_solver(ref: tuple) -> bool:
    """Whether ``ref`` names a built-in solver (trusted code the parent may import)."""
    from harness.solvers.registry import SOLVERS

    return ref[0] == "name" and SOLVERS.is_builtin(ref[1])


def _cache_setting() -> str:
    import jax

    return str(jax.config.jax_compilation_cache_dir or "")


class _Worker:
    def __init__(self, ctx: Any, cache: str) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=worker_main, args=(child, cache), daemon=True, name="critbench-worker")
        self.proc.start()
        child.close()
        self.ticket: int | None = None
        self.task: SolveTask | None = None
        self.deadline = float("inf")
        self.limit: float | None = None
        self.cells: set[str] = set()

    def kill(self) -> None:
        try:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(5)
        except Exception:  # noqa: BLE001
            pass
        try:
            self.conn.close()
        except OSError:
            pass


def _death(proc: Any, task: SolveTask) -> str:
    proc.join(5)
    code = proc.exitcode
    where = indices_text(task.seed, task.indices)
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"worker killed by {name} during {where}"
    return f"worker exited with code {code} during {where}"


class ProcessPool:
    """A pool of spawned solver processes (see the module docstring)."""

    def __init__(self, size: int = 1) -> None:
        self._ctx = mp.get_context("spawn")
        self._cache = _cache_setting()
        self._workers: list[_Worker] = []
        self._tickets = itertools.count()
        self._lock = threading.Lock()
        self.ensure(size)

    # -- sizing
    def slots(self) -> int:
        return len(self._workers)

    def ensure(self, n: int) -> None:
        cache = _cache_setting()
        if cache != self._cache:  # the parent's compile-cache setting changed: new workers for new cells
            self._cache = cache
            for w in [w for w in self._workers if w.task is None]:
                w.conn.send(("stop",))
                self._workers.remove(w)
        while len(self._workers) < n:
            self._workers.append(_Worker(self._ctx, self._cache))

    def free(self) -> int:
        return sum(1 for w in self._workers if w.task is None)

    # -- describing a solver in a worker
    def describe(self, solver_ref: tuple, given: dict[str, Any]) -> dict[str, Any]:
        self.ensure(1)
        w = next((w for w in self._workers if w.task is None), None)
        if w is None:
            w = _Worker(self._ctx, self._cache)
            self._workers.append(w)
        try:
            w.conn.send(("describe", solver_ref, given, list(sys.path)))
            if not w.conn.poll(DESCRIBE_TIMEOUT):
                self._replace(w)
                what = solver_ref[1] if solver_ref[0] == "name" else "the given solver"
                return {"error": f"cannot load solver {what!r}: no answer within {DESCRIBE_TIMEOUT:g} s"}
            head, _ = decode_reply(w.conn.recv_bytes())
            out = head.get("describe")
            if not isinstance(out, dict):
                raise ValueError("malformed describe reply")
            return out
        except (EOFError, OSError, ValueError) as exc:
            self._replace(w)
            what = solver_ref[1] if solver_ref[0] == "name" else "the given solver"
            return {"error": f"cannot load solver {what!r}: the worker failed ({type(exc).__name__})"}

    def _replace(self, w: _Worker) -> None:
        w.kill()
        i = self._workers.index(w)
        self._workers[i] = _Worker(self._ctx, self._cache)

    # -- tasks
    def submit(self, task: SolveTask, time_limit: float | None) -> int:
        free = [w for w in self._workers if w.task is None]
        if not free:
            raise RuntimeError("no free worker")
        w = next((w for w in free if task.cell in w.cells), None) or min(free, key=lambda w: len(w.cells))
        ticket = next(self._tickets)
        w.conn.send(("solve", task, list(sys.path)))
        w.ticket, w.task, w.cells = ticket, task, w.cells | {task.cell}
        w.limit = time_limit
        w.deadline = time.monotonic() + time_limit if time_limit else float("inf")
        return ticket

    def wait(self, timeout: float | None) -> list[tuple[int, Outcome]]:
        busy = [w for w in self._workers if w.task is not None]
        if not busy:
            return []
        now = time.monotonic()
        until = min(w.deadline for w in busy) - now
        t = max(0.0, until) if timeout is None else max(0.0, min(timeout, until))
        objs = {}
        for w in busy:
            objs[w.conn] = w
            objs[w.proc.sentinel] = w
        ready = mp_wait(list(objs), timeout=None if t == float("inf") else t)
        done: list[tuple[int, Outcome]] = []
        seen: set[int] = set()
        for obj in ready:
            w = objs[obj]
            if id(w) in seen or w.task is None:
                continue
            seen.add(id(w))
            task, ticket = w.task, w.ticket
            outcome: Outcome
            try:
                if w.conn.poll():
                    head, arrays = decode_reply(w.conn.recv_bytes())
                    if "fatal" in head:
                        code = head.get("exit_code")
                        what = (f"worker exited with code {code}" if code is not None
                                else f"worker raised {head['fatal']}")
                        outcome = ("died", f"{what} during {indices_text(task.seed, task.indices)}")
                        self._replace(w)
                    else:
                        outcome = ("reply", head, arrays)
                        w.task = w.ticket = None
                else:
                    outcome = ("died", _death(w.proc, task))
                    self._replace(w)
            except (EOFError, OSError):
                outcome = ("died", _death(w.proc, task))
                self._replace(w)
            except ValueError as exc:
                outcome = ("died", f"{exc} during {indices_text(task.seed, task.indices)}")
                self._replace(w)
            done.append((ticket, outcome))
        now = time.monotonic()
        for w in [w for w in self._workers if w.task is not None and w.deadline <= now]:
            task, ticket = w.task, w.ticket
            done.append((ticket, ("timeout", f"time limit {w.limit:g} s exceeded during "
                                  f"{indices_text(task.seed, task.indices)}; worker killed")))
            self._replace(w)
        return done

    def abandon(self) -> None:
        for w in [w for w in self._workers if w.task is not None]:
            self._replace(w)

    def close(self) -> None:
        for w in self._workers:
            try:
                if w.task is None:
                    w.conn.send(("stop",))
            except OSError:
                pass
        for w in self._workers:
            w.proc.join(2)
            w.kill()
        self._workers = []


class InlineBackend:
    """Solve in the calling process (trusted built-in solvers only; no time limit)."""

    def __init__(self) -> None:
        self._state = WorkerState()
        self._queue: list[tuple[int, SolveTask]] = []
        self._tickets = itertools.count()

    def slots(self) -> int:
        return 1

    def ensure(self, n: int) -> None:
        pass

    def describe(self, solver_ref: tuple, given: dict[str, Any]) -> dict[str, Any]:
        from harness.run.worker import describe_solver

        if not is_builtin_solver(solver_ref):
            return {"error": "the in-process back end runs built-in solvers only (plug-ins run in worker processes)"}
        return describe_solver(solver_ref, given)

    def free(self) -> int:
        return 0 if self._queue else 1

    def submit(self, task: SolveTask, time_limit: float | None) -> int:
        if not is_builtin_solver(task.solver_ref):
            raise ValueError("the in-process back end runs built-in solvers only")
        ticket = next(self._tickets)
        self._queue.append((ticket, task))
        return ticket

    def wait(self, timeout: float | None) -> list[tuple[int, Outcome]]:
        out = []
        while self._queue:
            ticket, task = self._queue.pop(0)
            head, arrays = decode_reply(encode_reply(*run_task(task, self._state)))
            out.append((ticket, ("reply", head, arrays)))
        return out

    def abandon(self) -> None:
        self._queue.clear()

    def close(self) -> None:
        pass


_SHARED: ProcessPool | None = None
_SHARED_PID: int | None = None


def shared_pool(size: int = 1) -> ProcessPool:
    """This process's pool of solver workers (created on first use, grown to ``size``, closed at exit)."""
    global _SHARED, _SHARED_PID
    if _SHARED is None or _SHARED_PID != os.getpid():
        _SHARED, _SHARED_PID = ProcessPool(0), os.getpid()
        atexit.register(_close_shared)
    _SHARED.ensure(size)
    return _SHARED


def _close_shared() -> None:
    global _SHARED
    if _SHARED is not None:
        _SHARED.close()
        _SHARED = None
