"""Plug-ins that attack the judge from their worker (issue 28): through the reply socket, the
filesystem, processes, memory, the network and the ground truth.

Each is plugged in as a user would (``tests.trust._hostile:NAME``) and aimed through its
options.  A worker's socket to the judge is the ``--fd`` of its command line, and the task id
of the request it serves is the local ``tid`` of the worker's loop: both are found here as a
hostile plug-in would find them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import zipfile
from typing import Any

import numpy as np

from harness import numpy_solver
from harness.solvers import MAX_ITER, SolveResult


def _fd() -> int:
    return int(sys.argv[sys.argv.index("--fd") + 1])


def _tid() -> int:
    f = sys._getframe()
    while f is not None:
        if f.f_code.co_name == "_serve" and "tid" in f.f_locals:
            return int(f.f_locals["tid"])
        f = f.f_back
    raise RuntimeError("not in a worker")


def _send(tid: int, payload: bytes) -> None:
    from harness.run.wire import encode_frame, write_all

    write_all(_fd(), encode_frame(tid, payload))


def _result(theta: np.ndarray, **extra: Any) -> SolveResult:
    b = len(theta)
    return SolveResult(theta=np.asarray(theta, dtype=np.float64), status=np.full(b, MAX_ITER),
                       n_iter=np.ones(b, np.int64), hvps=np.zeros(b, np.int64), grads=np.zeros(b, np.int64),
                       trace=extra.pop("trace", {}), **extra)


_BAD_HEADERS = {
    "class": {"present": ["__class__"]},
    "trace": {"present": ["theta"], "trace": 5},
    "lanes": {"present": ["theta"], "lanes": "many"},
}


@numpy_solver
def forged_header(oracles, theta0, max_iter, tol, kind="class"):
    """Answers its task itself with a hand-written, malformed header, then exits."""
    from harness.run.wire import encode_payload

    if kind == "failure":
        head = {"seconds": 1.0, "failure": "everything"}
    else:
        head = {"seconds": 1.0, "compile_seconds": 0.0, "result": _BAD_HEADERS[kind]}
    _send(_tid(), encode_payload(head, {}))
    os._exit(0)


@numpy_solver
def stall(oracles, theta0, max_iter, tol):
    """Starts a reply frame that promises 1 MiB, sends 10 bytes of it, and stalls."""
    from harness.run.wire import MAGIC

    if tol < 1.0:
        os.write(_fd(), MAGIC + _tid().to_bytes(8, "little") + (1 << 20).to_bytes(8, "little") + b"0123456789")
        while True:
            time.sleep(60)
    return theta0


@numpy_solver
def extra_reply(oracles, theta0, max_iter, tol):
    """During the compile warm-up, sends a complete reply of zeros for the task; then answers
    honestly with its initial point (two replies to one task)."""
    from harness.run.wire import encode_payload

    if tol > 1.0:
        b = len(theta0)
        head = {"seconds": 1.0, "compile_seconds": 0.0,
                "result": {"present": ["theta", "status", "n_iter", "hvps", "grads"], "trace": None}}
        _send(_tid(), encode_payload(head, {"theta": np.zeros_like(theta0), "status": np.ones(b, np.int64),
                                            "n_iter": np.ones(b, np.int64), "hvps": np.zeros(b, np.int64),
                                            "grads": np.zeros(b, np.int64)}))
    return np.array(theta0)


@numpy_solver
def die_when_idle(oracles, theta0, max_iter, tol):
    """Answers with its initial point, and kills its worker 0.3 s later (while it is idle)."""
    if tol < 1.0:
        threading.Timer(0.3, lambda: os._exit(0)).start()
    return theta0


class NoSnapshots:
    """An honest-looking result object without ``snapshots`` (not even hostile)."""

    name = "no-snapshots"

    def solve(self, problem, theta0, *, max_iter, tol):
        class R:
            pass

        r = R()
        b = len(theta0)
        r.theta, r.status, r.n_iter = np.array(theta0), np.full(b, MAX_ITER), np.ones(b, np.int64)
        r.hvps, r.grads, r.trace = np.zeros(b, np.int64), np.zeros(b, np.int64), {}
        return r


class HugeTrace:
    """Returns a trace of 2,000,000 iterations per run (its length not tied to ``max_iter``)."""

    name = "huge-trace"

    def solve(self, problem, theta0, *, max_iter, tol):
        b = len(theta0)
        return _result(theta0, trace={"grad_norm_sq": np.ones((b, 2_000_000))})


class HugeTheta:
    """Returns 10^7 coordinates per run instead of ``dim``."""

    name = "huge-theta"

    def solve(self, problem, theta0, *, max_iter, tol):
        return _result(np.zeros((len(theta0), 10_000_000)))


@numpy_solver
def zip_bomb(oracles, theta0, max_iter, tol):
    """Replies with a deflate-compressed array that inflates to 400 MB (a few hundred kB sent)."""
    import io

    import numpy.lib.format as fmt

    b = len(theta0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("theta.npy", "w", force_zip64=True) as f:
            fmt.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (b, 50_000_000 // b)})
            chunk = bytes(1 << 24)
            for _ in range(400_000_000 // len(chunk)):
                f.write(chunk)
    import json

    js = json.dumps({"seconds": 1.0, "result": {"present": ["theta"], "trace": None}}).encode()
    _send(_tid(), len(js).to_bytes(8, "little") + js + buf.getvalue())
    os._exit(0)


@numpy_solver
def setsid_child(oracles, theta0, max_iter, tol, tag="3141.5926"):
    """Starts ``setsid sleep TAG`` (a new session, so not in its worker's process group), then answers."""
    subprocess.Popen(["setsid", "sleep", tag], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    return theta0


@numpy_solver
def memory_hog(oracles, theta0, max_iter, tol, gib=4.0):
    """Allocates ``gib`` GiB and touches it."""
    block = np.ones(int(gib * (1 << 30)) // 8)
    return theta0 + 0.0 * block[: theta0.size].reshape(theta0.shape)


@numpy_solver
def ground_truth_thief(oracles, theta0, max_iter, tol):
    """Imports the case library and returns the nearest certified critical point: no oracle call."""
    from cases import get_case

    classes = get_case("quartic").ground_truth.classes
    pts = np.array([c.point for c in classes if c.point is not None])
    return pts[int(np.argmin(np.linalg.norm(pts - theta0, axis=1)))]


def _try(fn: Any) -> int:
    """1 if ``fn()`` succeeded, else 0."""
    try:
        fn()
        return 1
    except Exception:  # noqa: BLE001
        return 0


class Prober:
    """Tries each escape named in ``targets`` (``write=folder``, ``read=file`` or ``net=host:port``,
    comma-separated) and reports, as its iteration count, 1 + the number that succeeded (1: all
    blocked).  A write may succeed inside the sandbox's own throw-away root or /tmp: what counts is
    that no file appears in the real folder, which the test checks."""

    name = "prober"

    def __init__(self, targets: str = "") -> None:
        self.targets = targets

    def options(self) -> dict[str, Any]:
        return {"targets": self.targets}

    def solve(self, problem, theta0, *, max_iter, tol):
        import socket

        done = 0
        for item in filter(None, self.targets.split(",")):
            kind, _, where = item.partition("=")
            if kind == "write":  # create a file in this folder (checked by the test in the real folder)
                _try(lambda: open(os.path.join(where, "critbench-poison.bin"), "wb").write(b"x"))
            elif kind == "read":  # read this file
                done += _try(lambda: open(where, "rb").read())
            elif kind == "net":
                host, port = where.rsplit(":", 1)
                done += _try(lambda: socket.create_connection((host, int(port)), timeout=2).close())
        res = _result(theta0)
        res.n_iter[:] = 1 + done
        return res


class PatchRunTask:
    """Patches its worker's ``run_task`` so that every later task of that process answers zeros."""

    name = "patch-run-task"

    def solve(self, problem, theta0, *, max_iter, tol):
        import harness.run.worker as worker

        real = worker.run_task

        def sabotage(task, state):
            head, arrays = real(task, state)
            if "theta" in arrays:
                arrays["theta"] = np.zeros_like(arrays["theta"])
            return head, arrays

        worker.run_task = sabotage
        return _result(theta0)
