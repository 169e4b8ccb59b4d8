"""Create ``.venv`` at the repository root and install critbench into it.

Used by ``ci/demo.py`` and ``ci/test.py`` so that a fresh machine with only
Python needs one command each.  Re-installs only when ``pyproject.toml``
changed (a stamp file in the venv records its hash).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("CRITBENCH_VENV", ROOT / ".venv"))


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(extras: str = "test") -> Path:
    """Return the venv's python, creating and installing it if needed."""
    py = venv_python()
    if not py.exists():
        print(f"[critbench] creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / ".critbench-installed"
    if not stamp.exists() or stamp.read_text().strip() != digest:
        print("[critbench] installing critbench and its dependencies (first run takes a minute or two)", flush=True)
        _quiet([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        target = f".[{extras}]" if extras else "."
        _quiet([str(py), "-m", "pip", "install", "--quiet", "-e", target], cwd=ROOT)
        stamp.write_text(digest)
    return py


def _quiet(cmd: list[str], cwd: Path | None = None) -> None:
    """Run ``cmd`` with its output captured; print that output only if it fails (then exit)."""
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout)
        print(f"[critbench] command failed (exit {proc.returncode}): {' '.join(cmd)}", file=sys.stderr, flush=True)
        sys.exit(proc.returncode)


def run(py: Path, *args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(py), *args], cwd=ROOT, env={**os.environ, **(env or {})})


if __name__ == "__main__":
    ensure_venv()
    sys.exit(0)
