"""An OS sandbox for plug-in solver workers (bubblewrap), and the judge's meter of a worker.

A plug-in's worker is started as ``bwrap <options> -- python -m harness.run.worker --fd N``
(:func:`worker_command`).  What it sees and may do:

* **Files.**  Read-only: the system directories a Python process needs (``/usr``,
  ``/lib*``, ``/bin``, ``/sbin``, ``/etc``), the interpreter and virtual environment
  (``sys.base_prefix``, ``sys.prefix``), the folders of critbench's packages, every
  folder on the judge's ``sys.path`` (the plug-in's own folder) and the working folder
  (where ``module:attr`` plug-ins are looked up; the worker starts there), unless it
  holds the home folder (when it is the home folder, its dot-entries stay hidden); and the folders listed in ``CRITBENCH_SANDBOX_READ``
  (``os.pathsep``-separated: data a plug-in needs to read).  Writable: a private ``/tmp`` (and
  ``HOME=/tmp``).  Not visible at all: the result store and the judge's compile cache
  (empty tmpfs laid over them when they lie inside a visible folder), the user's home
  (unless a ``sys.path`` folder is inside it: then that folder alone, read-only).
  The checkout's ``__pycache__`` folders are read-only like the rest (``PYTHONDONTWRITEBYTECODE``).
* **No network** (``--unshare-net``), fresh IPC/UTS/cgroup namespaces, no capabilities,
  a new session (no terminal injection).
* **Processes.**  A PID namespace with ``--die-with-parent``: when the worker's process
  is killed, every process it started dies too (``setsid`` does not escape).
  ``RLIMIT_NPROC`` bounds the processes of the worker's user (Linux does not apply it to
  root, so for root this bound rests on the PID namespace and the judge killing it).
* **Memory.**  ``RLIMIT_AS`` (address space) of ``memory_limit`` bytes
  (default :data:`DEFAULT_MEMORY_FRACTION` of physical memory).
* **Environment.**  A short allow-list of variables (``PATH``, locale, JAX/XLA/BLAS
  thread and platform settings); nothing else of the judge's environment.

Without ``bwrap``, or where it cannot create its namespaces (user namespaces
disabled), :func:`probe` says so and plug-ins run as plain processes (the caller warns
once and records ``sandbox: "none"``).

:func:`tree_cpu_seconds` is the judge's own measure of a worker's cost: user + system
CPU time of a process and all its descendants, read from ``/proc``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence

__all__ = ["DEFAULT_MEMORY_FRACTION", "DEFAULT_NPROC", "SandboxStatus", "default_memory_limit", "limit_resources", "nproc_budget", "parse_memory",
           "cpu_seconds", "probe", "sandbox_env", "tree_cpu_seconds", "worker_command"]

#: Default address-space limit of a plug-in worker, as a fraction of physical memory.
DEFAULT_MEMORY_FRACTION = 0.5
#: Processes and threads a plug-in worker may add to those of its user (``RLIMIT_NPROC``).
DEFAULT_NPROC = 4096
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "JAX_PLATFORMS", "JAX_ENABLE_X64", "XLA_FLAGS",
             "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "NVIDIA_VISIBLE_DEVICES", "PYTHONHASHSEED")


@dataclasses.dataclass(frozen=True)
class SandboxStatus:
    """``kind``: ``"bwrap"`` (plug-ins run sandboxed) or ``"none"``; ``reason``: why not, one line."""

    kind: str
    reason: str = ""


def default_memory_limit() -> int | None:
    """:data:`DEFAULT_MEMORY_FRACTION` of physical memory, in bytes (None if unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * DEFAULT_MEMORY_FRACTION)
    except (ValueError, OSError):
        return None


def parse_memory(text: str) -> int | None:
    """A memory size: bytes with an optional suffix K, M, G or T (powers of 1024); ``none``/``0``: None."""
    t = str(text).strip().upper().removesuffix("B")
    if t in ("NONE", "OFF", "0", ""):
        return None
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(t[-1:], 1)
    try:
        value = float(t[:-1] if scale > 1 else t) * scale
    except ValueError:
        raise ValueError(f"must be a size such as 4G or 512M, or 'none', got {text!r}") from None
    if not value >= 64 << 20:
        raise ValueError(f"must be at least 64M (a Python process needs that much), got {text!r}")
    return int(value)


def _existing(paths: Iterable[str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        if not p:
            continue
        try:
            rp = os.path.realpath(p)
        except OSError:
            continue
        if os.path.isdir(rp) and rp not in out:
            out.append(rp)
    return out


def _inside(path: str, folders: Sequence[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def worker_command(argv: Sequence[str], *, hidden: Sequence[str | os.PathLike] = (),
                   visible: Sequence[str] | None = None, cwd: str | None = None) -> list[str]:
    """The ``bwrap`` command line that runs ``argv`` sandboxed (see the module docstring).

    ``hidden``: folders the sandbox must not see (the store, the judge's compile cache):
    an empty tmpfs is laid over each one that lies inside a visible folder.
    ``visible``: extra read-only folders (default: the judge's ``sys.path``).
    """
    links = [(os.readlink(d), d) for d in _SYSTEM_DIRS if os.path.islink(d)]  # merged /usr: /bin -> usr/bin
    ro = _existing(d for d in _SYSTEM_DIRS if not os.path.islink(d))
    home = os.path.realpath(os.path.expanduser("~"))
    cwd = os.path.realpath(cwd or os.getcwd())
    cwd_ok = cwd == home or not _inside(home, [cwd])  # the working folder, unless it holds the home folder
    python_dirs = _existing([sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)),
                             *_package_roots(), *([cwd] if cwd_ok else []),
                             *(visible if visible is not None else [p for p in sys.path if p]),
                             *os.environ.get("CRITBENCH_SANDBOX_READ", "").split(os.pathsep)])
    for d in python_dirs:
        if d not in ro and not _inside(d, ro):
            ro.append(d)
    cmd = ["bwrap", "--tmpfs", "/tmp"]  # first: a visible folder inside /tmp is bound over it
    for d in ro:
        cmd += ["--ro-bind", d, d]
    for target, d in links:
        cmd += ["--symlink", target, d]
    # folders needed inside the home folder (the interpreter, a user site-packages) are bound again inside
    # the empty folders laid over it (each made read-only after)
    keep = [d for d in python_dirs if _inside(d, [home]) and d != home] if home and home != "/" else []
    if home and home in ro:  # the plug-in's own folder is the home folder: its dot-entries stay hidden
        cmd += _hide_dot_entries(home, keep)
    elif home and _inside(home, ro) and home != "/":  # inside a visible folder: an empty folder over it
        cmd += _empty_over(home, keep)
    emptied = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--tmpfs"]
    for h in _existing(os.fspath(p) for p in hidden):
        # an empty folder over it; a folder outside every visible one, or inside one emptied already, is unseen
        if _inside(h, ro) and not _inside(h, [e for e in emptied if e != "/tmp"]):
            cmd += _empty_over(h)
            emptied.append(h)
    cmd += ["--dev", "/dev", "--proc", "/proc", "--unshare-all", "--die-with-parent",
            "--new-session", "--cap-drop", "ALL", "--chdir", cwd if cwd_ok else "/tmp"]
    for dev in ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia0", "/dev/dri"):
        if os.path.exists(dev):  # an accelerator stays usable inside
            cmd += ["--dev-bind", dev, dev]
    return [*cmd, "--", *argv]


def _empty_over(folder: str, keep: Sequence[str] = ()) -> list[str]:
    """bwrap options laying an empty read-only folder over ``folder``, with the ``keep`` folders
    inside it bound again (read-only)."""
    out = ["--tmpfs", folder]
    for d in keep:
        if _inside(d, [folder]) and d != folder:
            out += ["--ro-bind", d, d]
    return [*out, "--remount-ro", folder]


def _hide_dot_entries(folder: str, keep: Sequence[str] = ()) -> list[str]:
    """bwrap options laying an empty read-only folder over each dot-folder of ``folder`` (with the
    ``keep`` folders inside it bound again) and ``/dev/null`` over each dot-file: keys, tokens,
    caches and settings live there."""
    out: list[str] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return out
    for e in entries:
        if not e.name.startswith("."):
            continue
        path = os.path.join(folder, e.name)
        if e.is_dir(follow_symlinks=False):
            out += _empty_over(path, keep)
        elif e.is_file(follow_symlinks=False):
            out += ["--ro-bind", "/dev/null", path]
    return out


def _package_roots() -> list[str]:
    """The folders holding critbench's own packages (``harness``, ``cases``)."""
    import cases
    import harness

    return [os.path.dirname(os.path.dirname(os.path.realpath(m.__file__))) for m in (harness, cases)]


def sandbox_env() -> dict[str, str]:
    """The environment of a sandboxed worker: an allow-list of the judge's, ``HOME=/tmp``."""
    env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
    env.update(HOME="/tmp", TMPDIR="/tmp", PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1")
    return env


def limit_resources(memory_limit: int | None, nproc_total: int | None) -> None:
    """Lower this process's ``RLIMIT_AS`` to ``memory_limit`` bytes and ``RLIMIT_NPROC`` to
    ``nproc_total`` tasks of its user (soft and hard: without ``CAP_SYS_RESOURCE`` they cannot be raised
    again); called by a plug-in worker before it loads any plug-in code."""
    if memory_limit:
        resource.setrlimit(resource.RLIMIT_AS, (int(memory_limit), int(memory_limit)))
    if nproc_total:
        _, hard = resource.getrlimit(resource.RLIMIT_NPROC)
        if hard == resource.RLIM_INFINITY or nproc_total < hard:
            resource.setrlimit(resource.RLIMIT_NPROC, (int(nproc_total), int(nproc_total)))


def nproc_budget(extra: int = DEFAULT_NPROC) -> int:
    """``RLIMIT_NPROC`` for a plug-in worker: the tasks (threads) its user runs now, plus ``extra``
    (Linux counts every thread of the user against it)."""
    uid, n = os.getuid(), 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.stat(f"/proc/{p}").st_uid == uid:
                    n += len(os.listdir(f"/proc/{p}/task"))
            except OSError:
                pass
    return n + int(extra)


@functools.lru_cache(maxsize=1)
def probe() -> SandboxStatus:
    """Whether plug-ins can run sandboxed here: ``bwrap`` on the path and able to start
    ``python -c pass`` with the options of :func:`worker_command` (cached per process)."""
    if os.environ.get("CRITBENCH_SANDBOX", "").lower() == "none":
        return SandboxStatus("none", "CRITBENCH_SANDBOX=none")
    if not sys.platform.startswith("linux"):
        return SandboxStatus("none", f"bubblewrap needs Linux (this is {sys.platform})")
    if shutil.which("bwrap") is None:
        return SandboxStatus("none", "bubblewrap (bwrap) is not installed")
    try:
        proc = subprocess.run(worker_command([sys.executable, "-c", "pass"], cwd="/"), env=sandbox_env(),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxStatus("none", f"bwrap could not start ({type(exc).__name__})")
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return SandboxStatus("none", f"bwrap cannot create its sandbox here ({why[:160]})")
    return SandboxStatus("bwrap")


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(p))
    return kids


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and the children it has reaped; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0.0
    return sum(int(x) for x in stat[stat.rfind(b")") + 2:].split()[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and all its live descendants, including the
    children each has reaped (``/proc/<pid>/stat`` fields 14-17); 0 if ``pid`` is gone."""
    tick = os.sysconf("SC_CLK_TCK")
    kids = _children()
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        total += sum(int(x) for x in fields[11:15])
        todo.extend(kids.get(p, []))
    return total / tick


def tree_pids(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    kids = _children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out
