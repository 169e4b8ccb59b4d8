"""Back ends of :func:`harness.run.execute.execute`: where solver tasks run.

The interface (:class:`Backend`) is small so that other back ends (a Dask
cluster) can implement it::

    slots() -> int                      tasks it runs at once now
    ensure(n) -> None                   grow to n slots (a hint; may be ignored)
    describe(solver_ref) -> dict        the solver's name, complete options, refill support
                                        (SolverRef.describe asked of a worker: plug-in code never
                                        runs in the parent)
    submit(task, time_limit) -> ticket  start a SolveTask (only while free() > 0)
    free() -> int                       slots without a task
    wait(timeout) -> [(ticket, Outcome)] finished tasks (blocks up to ``timeout`` s)
    abandon() -> None                   kill the tasks in flight (a second Ctrl-C)
    close() -> None

    release(cell) -> None               (optional) the cell is done: its plug-in workers go

An :class:`Outcome` is ``("reply", header, arrays, meter)`` (a reply decoded under
the task's size limits whose header passed :func:`harness.run.wire.check_solve_header`)
or ``("died" | "timeout" | "invalid", reason, meter)``; ``meter`` is the judge's own
measure of the block (``judge_wall_seconds``, ``judge_cpu_seconds`` of the worker's
process tree, and ``sandbox``).  A back end enforces the time limit itself (it is the
one that can kill a worker) and replaces a dead or killed worker.

* :class:`ProcessPool` (the default): worker processes (:class:`WorkerProcess`,
  ``python -m harness.run.worker``) on socket pairs, dispatched with
  :func:`multiprocessing.connection.wait`; replies are read only when readable
  (:class:`harness.run.wire.FrameReader`), so a stalled reply meets the block's
  deadline.  Built-in solvers share long-lived trusted workers (one pool per
  process, :func:`shared_pool`; each worker compiles a cell's shapes once; the
  parent's compile-cache setting is passed on).  A plug-in cell gets workers of its
  own in the OS sandbox (:mod:`harness.run.sandbox`), killed when the cell is done.
* :class:`InlineBackend` (explicit only): solves in the calling process.  For
  trusted built-in solvers (registered names), when a test wants speed; it
  refuses plug-ins, and it enforces no time limit.
"""

from __future__ import annotations

import atexit
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from multiprocessing.connection import wait as mp_wait
from typing import Any, Protocol

from harness.run.limits import DEFAULT_TIME_LIMIT
from harness.run.cell import SolverRef
from harness.run.sandbox import (cpu_seconds, default_memory_limit, nproc_budget, probe, sandbox_env, tree_cpu_seconds,
                                 tree_pids, worker_command)
from harness.run.wire import FrameReader, ProtocolError, ReplyLimits, check_solve_header, decode_payload, encode_frame
from harness.run.worker import SolveTask, WorkerState, decode_reply, encode_reply, indices_text, run_task

__all__ = ["Backend", "InlineBackend", "ProcessPool", "WorkerProcess", "shared_pool",
           "solve_in_worker"]

Outcome = tuple
#: Seconds a worker may take to take a request off its socket (it is idle when one is sent).
SEND_TIMEOUT = 60.0


class Backend(Protocol):
    """Where :class:`~harness.run.worker.SolveTask` values are solved (see the module docstring)."""

    def slots(self) -> int: ...

    def ensure(self, n: int) -> None: ...

    def describe(self, solver_ref: SolverRef) -> dict[str, Any]: ...

    def free(self) -> int: ...

    def submit(self, task: SolveTask, time_limit: float | None) -> int: ...

    def wait(self, timeout: float | None) -> list[tuple[int, Outcome]]: ...

    def abandon(self) -> None: ...

    def close(self) -> None: ...


def _cache_setting() -> str:
    import jax

    return str(jax.config.jax_compilation_cache_dir or "")


def _python_path() -> str:
    return os.pathsep.join(p or os.getcwd() for p in sys.path)


class WorkerProcess:
    """One worker process (``python -m harness.run.worker``) and the judge's end of its socket.

    ``sandbox``: None for a trusted worker (built-in solvers; the judge's environment and
    compile cache), ``"bwrap"`` for a plug-in worker in the OS sandbox
    (:mod:`harness.run.sandbox`: no store, no judge cache, read-only project, no network,
    its own PID namespace, ``memory_limit``), ``"none"`` for a plug-in worker without it
    (a plain process with the same limits, no judge cache).  ``hidden``: folders a sandbox
    must not see.  ``owner``: the cell a plug-in worker serves (it serves no other).
    """

    def __init__(self, cache: str, *, sandbox: str | None = None, hidden: Sequence[str] = (),
                 memory_limit: int | None = None, owner: str | None = None) -> None:
        parent, child = socket.socketpair()
        self.sandbox, self.owner = sandbox, owner
        trusted = sandbox is None
        argv = [sys.executable, "-m", "harness.run.worker", "--fd", str(child.fileno()),
                "--cache", (cache or "off") if trusted else "off"]
        if trusted:
            env = {**os.environ, "PYTHONPATH": _python_path()}
            cmd = argv
        else:  # the worker lowers its own limits (soft and hard) before it loads any plug-in code
            limit = memory_limit if memory_limit is not None else default_memory_limit()
            argv += ["--memory-limit", str(int(limit or 0)), "--nproc", str(nproc_budget())]
            env = {**sandbox_env(), "PYTHONPATH": _python_path()}
            cmd = worker_command(argv, hidden=[*hidden, *([cache] if cache else [])]) if sandbox == "bwrap" else argv
        try:
            self.proc = subprocess.Popen(cmd, pass_fds=[child.fileno()], env=env, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        finally:
            child.close()
        self.sock = parent
        self.sock.settimeout(SEND_TIMEOUT)
        self.reader = FrameReader(self.sock)
        try:
            self.pidfd: int | None = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            self.pidfd = None
        self.started = time.monotonic()
        self.ticket: int | None = None
        self.task: SolveTask | None = None
        self.tid = 0
        self.deadline = float("inf")
        self.limit: float | None = None
        self.cells: set[str] = set()
        self.meter: tuple[float, float] = (0.0, 0.0)
        self.expect = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def waitables(self) -> list[Any]:
        return [self.sock] + ([self.pidfd] if self.pidfd is not None else [])

    def send(self, msg: tuple) -> int:
        """Send a request (``OSError`` if the worker is gone or does not take it in time); its task id."""
        import pickle

        self.tid += 1
        self.sock.sendall(encode_frame(self.tid, pickle.dumps(msg)))
        return self.tid

    def poll(self, limit: int) -> list[tuple[int, bytes]]:
        """The frames the worker completed (call when a waitable is ready).  ``EOFError`` once it is
        gone and nothing complete is left: a process that exited is drained first (its last reply
        may still be in the socket)."""
        if mp_wait([self.sock], 0):
            frames = self.reader.feed(limit)
            if frames or not self.exited():
                return frames
        if not self.exited():
            return []
        frames: list[tuple[int, bytes]] = []
        while not frames and mp_wait([self.sock], 0):
            frames = self.reader.feed(limit)
        if not frames:
            raise EOFError("the worker exited")
        return frames

    def _cpu(self) -> float:
        # a trusted worker starts no processes: its own /proc entry; a plug-in's whole process tree
        return (cpu_seconds if self.sandbox is None else tree_cpu_seconds)(self.proc.pid)

    def start_meter(self) -> None:
        self.meter = (time.monotonic(), self._cpu())

    def read_meter(self) -> dict[str, float]:
        """The judge's measure since :meth:`start_meter`: wall and CPU seconds of the worker's process tree."""
        t0, c0 = self.meter
        return {"judge_wall_seconds": time.monotonic() - t0,
                "judge_cpu_seconds": max(0.0, self._cpu() - c0),
                "sandbox": "trusted" if self.sandbox is None else self.sandbox}

    def exited(self) -> bool:
        return self.proc.poll() is not None

    def death(self, where: str) -> str:
        """Why the worker's process is gone (waits briefly for it)."""
        try:
            code = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
            return f"worker closed its connection during {where}; worker killed"
        if code < 0 or (self.sandbox == "bwrap" and code > 128):
            sig = -code if code < 0 else code - 128
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = str(sig)
            return f"worker killed by {name} during {where}"
        return f"worker exited with code {code} during {where}"

    def kill(self) -> None:
        """Kill the worker and everything it started (its session and its descendants; in the sandbox,
        its PID namespace)."""
        if self.sandbox == "none":
            for pid in tree_pids(self.proc.pid)[1:]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for close in (self.sock.close, lambda: self.pidfd is not None and os.close(self.pidfd)):
            try:
                close()
            except OSError:
                pass
        self.pidfd = None

    def stop(self) -> None:
        try:
            self.send(("stop",))
        except OSError:
            pass


def _ask(w: WorkerProcess, msg: tuple, deadline: float, limits: ReplyLimits | None,
         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send ``msg`` to ``w`` and read its one reply by ``deadline`` (monotonic seconds).

    Raises ``TimeoutError``, ``EOFError`` (the worker died) or :class:`ProtocolError`."""
    tid = w.send(msg)
    limit = (limits or ReplyLimits()).max_bytes
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        if not mp_wait(w.waitables(), timeout=left):
            continue
        for got, payload in w.poll(limit):
            if got != tid:
                raise ProtocolError(f"reply for task {got}, expected task {tid}")
            return decode_payload(payload, limits)


def solve_in_worker(task: SolveTask, time_limit: float | None, *, sandbox: str, hidden: Sequence[str] = (),
                    memory_limit: int | None = None) -> tuple[str, Any, dict[str, float]]:
    """Solve ``task`` in a fresh plug-in worker (``sandbox``: ``"bwrap"`` or ``"none"``) that is killed
    afterwards (for back ends whose own processes must not run a plug-in, as a Dask worker).

    Returns ``(kind, value, meter)``: ``("reply", (head, arrays))``, ``("died" | "timeout" | "invalid",
    reason)``; ``meter`` the judge's wall/CPU seconds of the worker."""
    w = WorkerProcess("", sandbox=sandbox, hidden=hidden, memory_limit=memory_limit, owner=task.cell)
    where = indices_text(task.seed, task.indices)
    deadline = time.monotonic() + time_limit if time_limit else float("inf")
    w.start_meter()
    try:
        head, arrays = _ask(w, ("solve", task, list(sys.path)), deadline, ReplyLimits.for_task(task))
        return "reply", (head, arrays), w.read_meter()
    except TimeoutError:
        return "timeout", f"time limit {time_limit:g} s exceeded during {where}; worker killed", w.read_meter()
    except ProtocolError as exc:
        return exc.as_outcome(where, w.read_meter())
    except (EOFError, OSError):
        return "died", w.death(where), w.read_meter()
    finally:
        w.kill()


def describe_in_worker(solver_ref: SolverRef, time_limit: float | None, *, sandbox: str,
                       hidden: Sequence[str] = (), memory_limit: int | None = None, cache: str = "") -> dict[str, Any]:
    """Load and describe a plug-in solver in a fresh worker (``sandbox``: ``"bwrap"`` or ``"none"``),
    killed afterwards; importing it and parsing its options count against ``time_limit``.
    ``{"error": one line}`` when it cannot be loaded, hangs, dies or answers malformed."""
    what = solver_ref.what
    w = WorkerProcess(cache, sandbox=sandbox, hidden=hidden, memory_limit=memory_limit)
    try:
        head, _ = _ask(w, ("describe", solver_ref, list(sys.path)),
                       time.monotonic() + (time_limit or float("inf")), None)
    except TimeoutError:
        return {"error": f"cannot load solver {what!r}: no answer within {time_limit:g} s (--time-limit)"}
    except ProtocolError as exc:
        return {"error": f"cannot load solver {what!r}: {exc}"}
    except (EOFError, OSError):
        return {"error": f"cannot load solver {what!r}: {w.death('loading')}"}
    finally:
        w.kill()
    out = head.get("describe")
    if not isinstance(out, dict) or not (isinstance(out.get("error"), str) or _described_ok(out)):
        return {"error": f"cannot load solver {what!r}: malformed describe reply"}
    if "error" in out:
        defaults = out.get("defaults") if isinstance(out.get("defaults"), dict) else None
        return {"error": str(out["error"]).splitlines()[0][:500] if str(out["error"]) else "cannot load solver",
                "defaults": defaults}
    return out


def _reply_outcome(head: dict[str, Any], arrays: dict[str, Any], task: SolveTask, meter: dict[str, Any]) -> Outcome:
    """A decoded solve reply as an outcome: its schema checked, ``fatal`` as a death."""
    where = indices_text(task.seed, task.indices)
    try:
        check_solve_header(head, arrays, len(task.indices))
    except ProtocolError as exc:
        return exc.as_outcome(where, meter)
    if "fatal" in head:
        code = head.get("exit_code")
        what = f"worker exited with code {code}" if isinstance(code, int) else f"worker raised {head['fatal']}"
        return ("died", f"{what} during {where}", meter)
    return ("reply", head, arrays, meter)


class ProcessPool:
    """Solver worker processes (see the module docstring).

    Trusted workers (built-in solvers) are long-lived and shared by every cell.  A plug-in
    cell gets workers of its own, started fresh in the sandbox for that cell and killed
    when the cell is done or its slot is needed: a worker that ran a plug-in never serves
    anything else.  ``hidden``: folders (result stores) plug-in workers must not see;
    ``memory_limit``: bytes of address space per plug-in worker (default: half the memory).
    """

    def __init__(self, size: int = 1) -> None:
        self._cache = _cache_setting()
        self._slots: list[WorkerProcess | None] = []
        self._tickets = itertools.count()
        self.hidden: list[str] = []
        self.memory_limit: int | None = None
        #: seconds a plug-in may take to import and describe itself (the per-run time limit)
        self.describe_limit: float | None = DEFAULT_TIME_LIMIT
        self._described: dict[bytes, dict[str, Any]] = {}
        self.ensure(size)

    @property
    def sandbox(self) -> str:
        """How plug-in workers run here: ``"bwrap"`` or ``"none"`` (:func:`harness.run.sandbox.probe`)."""
        return probe().kind

    # -- sizing
    def slots(self) -> int:
        return len(self._slots)

    def ensure(self, n: int) -> None:
        cache = _cache_setting()
        if cache != self._cache:  # the parent's compile-cache setting changed: new workers for new cells
            self._cache = cache
            for i, w in enumerate(self._slots):
                if w is not None and w.task is None and w.sandbox is None:
                    w.stop()
                    w.kill()
                    self._slots[i] = None
        while len(self._slots) < n:
            self._slots.append(WorkerProcess(self._cache))

    def free(self) -> int:
        return sum(1 for w in self._slots if w is None or w.task is None)

    def _spawn_plugin(self, owner: str | None) -> WorkerProcess:
        kind = self.sandbox
        if kind == "none":
            _warn_unsandboxed()
        return WorkerProcess(self._cache, sandbox=kind, hidden=self.hidden, memory_limit=self.memory_limit,
                             owner=owner)

    # -- describing a solver (a plug-in: in a fresh sandboxed worker, within the time limit)
    def describe(self, solver_ref: SolverRef) -> dict[str, Any]:
        import pickle

        key = pickle.dumps((solver_ref, sys.path))
        if key not in self._described:
            if self.sandbox == "none":
                _warn_unsandboxed()
            out = describe_in_worker(solver_ref, self.describe_limit, sandbox=self.sandbox, hidden=self.hidden,
                                     memory_limit=self.memory_limit, cache=self._cache)
            if "error" in out:
                return out
            self._described[key] = out
        return dict(self._described[key])

    # -- tasks
    def _take_slot(self, task: SolveTask) -> int:
        free = [i for i, w in enumerate(self._slots) if w is None or w.task is None]
        if not free:
            raise RuntimeError("no free worker")
        if task.solver_ref.builtin:
            trusted = [i for i in free if self._slots[i] is not None and self._slots[i].sandbox is None]
            i = next((i for i in trusted if task.cell in self._slots[i].cells), None)
            if i is None and trusted:
                i = min(trusted, key=lambda i: len(self._slots[i].cells))
            if i is None:
                i = free[0]
                self._retire(i)
                self._slots[i] = WorkerProcess(self._cache)
            return i
        mine = [i for i in free if self._slots[i] is not None and self._slots[i].owner == task.cell]
        if mine:
            return mine[0]
        # a slot for a fresh plug-in worker: an empty one, else another plug-in's, else a trusted one
        i = min(free, key=lambda i: (self._slots[i] is not None, self._slots[i] is not None
                                      and self._slots[i].sandbox is None))
        self._retire(i)
        self._slots[i] = self._spawn_plugin(task.cell)
        return i

    def _retire(self, i: int) -> None:
        w = self._slots[i]
        if w is not None:
            w.stop()
            w.kill()
        self._slots[i] = None

    def release(self, cell: str) -> None:
        """The cell is done: kill the plug-in workers that served it."""
        for i, w in enumerate(self._slots):
            if w is not None and w.owner == cell and w.task is None:
                self._retire(i)

    def submit(self, task: SolveTask, time_limit: float | None) -> int:
        for attempt in range(2):
            i = self._take_slot(task)
            w = self._slots[i]
            assert w is not None
            try:
                w.start_meter()
                w.expect = w.send(("solve", task, list(sys.path)))
                break
            except OSError:  # died while idle (or does not read): a fresh worker takes the block
                self._retire(i)
                if attempt:
                    raise RuntimeError("no worker process could be started") from None
        ticket = next(self._tickets)
        w.ticket, w.task, w.cells = ticket, task, w.cells | {task.cell}
        w.limit = time_limit
        w.deadline = time.monotonic() + time_limit if time_limit else float("inf")
        return ticket

    def _finish(self, w: WorkerProcess, replace: bool) -> None:
        w.task = w.ticket = None
        if replace:  # a trusted worker is respawned at once (it imports while others solve)
            i = self._slots.index(w)
            w.kill()
            self._slots[i] = WorkerProcess(self._cache) if w.sandbox is None else None

    def wait(self, timeout: float | None) -> list[tuple[int, Outcome]]:
        busy = [w for w in self._slots if w is not None and w.task is not None]
        if not busy:
            self._reap_idle()
            return []
        now = time.monotonic()
        until = min(w.deadline for w in busy) - now
        t = max(0.0, until) if timeout is None else max(0.0, min(timeout, until))
        objs: dict[Any, WorkerProcess] = {}
        for w in self._slots:
            if w is not None:
                for obj in w.waitables():
                    objs[obj] = w
        ready = mp_wait(list(objs), timeout=None if t == float("inf") else t)
        done: list[tuple[int, Outcome]] = []
        for w in {id(objs[o]): objs[o] for o in ready}.values():
            if w.task is None:  # an idle worker that speaks or dies: replaced, no block affected
                self._idle_event(w)
                continue
            task, ticket = w.task, w.ticket
            where = indices_text(task.seed, task.indices)
            limits = ReplyLimits.for_task(task)
            outcome: Outcome | None = None
            try:
                frames = w.poll(limits.max_bytes)
                if frames:
                    got, payload = frames[0]
                    if got != w.expect:
                        raise ProtocolError(f"reply for task {got}, expected task {w.expect}")
                    if len(frames) > 1 or w.reader.buf:
                        raise ProtocolError("a second reply to one task")
                    head, arrays = decode_payload(payload, limits)
                    outcome = _reply_outcome(head, arrays, task, w.read_meter())
                    self._finish(w, replace=outcome[0] != "reply")
            except ProtocolError as exc:
                outcome = exc.as_outcome(where, w.read_meter())
                self._finish(w, replace=True)
            except (EOFError, OSError):
                meter = w.read_meter()
                outcome = ("died", w.death(where), meter)
                self._finish(w, replace=True)
            if outcome is not None:
                done.append((ticket, outcome))
        now = time.monotonic()
        for w in [w for w in self._slots if w is not None and w.task is not None and w.deadline <= now]:
            task, ticket = w.task, w.ticket
            done.append((ticket, ("timeout", f"time limit {w.limit:g} s exceeded during "
                                  f"{indices_text(task.seed, task.indices)}; worker killed", w.read_meter())))
            self._finish(w, replace=True)
        return done

    def _idle_event(self, w: WorkerProcess) -> None:
        """An idle worker became readable: bytes nobody asked for, or its death. Replace it."""
        self._finish(w, replace=True)

    def _reap_idle(self) -> None:
        for i, w in enumerate(self._slots):
            if w is not None and w.task is None and w.exited():
                w.kill()
                self._slots[i] = None

    def abandon(self) -> None:
        for i, w in enumerate(self._slots):
            if w is not None and w.task is not None:
                w.kill()
                self._slots[i] = None

    def close(self) -> None:
        for w in self._slots:
            if w is not None and w.task is None:
                w.stop()
        deadline = time.monotonic() + 2
        for w in self._slots:
            if w is not None:
                try:
                    w.proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                w.kill()
        self._slots = []


def _described_ok(out: dict[str, Any]) -> bool:
    """A describe answer's fields have the types the planner uses."""
    return (isinstance(out.get("name"), str) and isinstance(out.get("options"), dict)
            and isinstance(out.get("refill"), bool) and isinstance(out.get("cost_source"), str)
            and (out.get("defaults") is None or isinstance(out.get("defaults"), dict))
            and (out.get("typed") is None or isinstance(out.get("typed"), dict)))


_WARNED = False


def _warn_unsandboxed() -> None:
    global _WARNED
    if not _WARNED:
        _WARNED = True
        print(f"critbench: warning: plug-in solvers run without an OS sandbox ({probe().reason}); their records "
              "say sandbox \"none\" (install bubblewrap: see the README)", file=sys.stderr, flush=True)


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

    def describe(self, solver_ref: SolverRef) -> dict[str, Any]:
        if not solver_ref.builtin:
            return {"error": "the in-process back end runs built-in solvers only (plug-ins run in worker processes)"}
        return solver_ref.describe()

    def free(self) -> int:
        return 0 if self._queue else 1

    def submit(self, task: SolveTask, time_limit: float | None) -> int:
        if not task.solver_ref.builtin:
            raise ValueError("the in-process back end runs built-in solvers only")
        ticket = next(self._tickets)
        self._queue.append((ticket, task))
        return ticket

    def wait(self, timeout: float | None) -> list[tuple[int, Outcome]]:
        out = []
        while self._queue:
            ticket, task = self._queue.pop(0)
            t, c = time.monotonic(), time.process_time()
            reply = encode_reply(*run_task(task, self._state))
            meter = {"judge_wall_seconds": time.monotonic() - t, "judge_cpu_seconds": time.process_time() - c,
                     "sandbox": "trusted"}
            try:
                head, arrays = decode_reply(reply, ReplyLimits.for_task(task))
                out.append((ticket, _reply_outcome(head, arrays, task, meter)))
            except ProtocolError as exc:
                out.append((ticket, exc.as_outcome(indices_text(task.seed, task.indices), meter)))
        return out

    def abandon(self) -> None:
        self._queue.clear()

    def close(self) -> None:
        pass


def guard(backend: Any, *, time_limit: float | None, hidden: Sequence[str | os.PathLike],
          memory_limit: int | None = None) -> None:
    """Tell ``backend`` what its plug-in workers must respect in this command: ``time_limit``
    (seconds per run; loading a plug-in gets one run's time), ``hidden`` folders (the store) and
    ``memory_limit`` (bytes of address space; None: the default fraction of memory, 0: none)."""
    if hasattr(backend, "describe_limit"):
        backend.describe_limit = time_limit
    if hasattr(backend, "hidden"):
        backend.hidden = [os.fspath(h) for h in hidden]
    if hasattr(backend, "memory_limit"):
        backend.memory_limit = memory_limit


def sandbox_label(backend: Any, cells: Sequence[Any]) -> str:
    """``meta.json``'s ``sandbox``: how the plug-in cells ran (``bwrap`` / ``none``), else ``trusted``."""
    if any(not c.solver.builtin for c in cells):
        return str(getattr(backend, "sandbox", "none"))
    return "trusted"


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
