"""Provenance of a result: software versions, device, git commit, host, time.

Never fails: anything that cannot be determined reads ``"unknown"``.
"""

from __future__ import annotations

import datetime as _dt
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

#: The critbench checkout (parent of the ``harness`` package).
CHECKOUT = Path(__file__).resolve().parents[2]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def critbench_version() -> str:
    """``harness.__version__`` (the source of truth), else the installed distribution's."""
    try:
        from harness import __version__

        return str(__version__)
    except Exception:  # noqa: BLE001 - provenance must never fail
        return _version("critbench")


def git_commit(path: Path = CHECKOUT) -> str:
    """The checkout's HEAD commit (``+dirty`` if modified), or ``"unknown"``."""
    try:
        sha = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("+dirty" if dirty else "") if sha else "unknown"
    except Exception:  # noqa: BLE001
        return "unknown"


def device() -> str:
    """``platform:device_kind`` of JAX's first device, or ``"unknown"``."""
    try:
        import jax

        d = jax.devices()[0]
        return f"{d.platform}:{getattr(d, 'device_kind', 'unknown')}"
    except Exception:  # noqa: BLE001
        return "unknown"


def collect() -> dict[str, Any]:
    """The ``provenance`` field of a run record (``docs/design.md``)."""
    try:
        host = socket.gethostname()
    except Exception:  # noqa: BLE001
        host = "unknown"
    return {
        "critbench": critbench_version(),
        "jax": _version("jax"),
        "jaxlib": _version("jaxlib"),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "python": platform.python_version(),
        "device": device(),
        "git_commit": git_commit(),
        "hostname": host,
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
