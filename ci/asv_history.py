#!/usr/bin/env python3
"""asv performance history of critbench (see ``docs/asv.md``).

Usage::

    python3 ci/asv_history.py [run] [--commits N] [--full] [--bench REGEX] [--preview]
    python3 ci/asv_history.py compare BASE NEW [--factor 1.5]

``run`` (the default) benchmarks the last N commits (default 3) of HEAD with
the existing ``.venv`` into ``.asv/results`` and publishes ``.asv/html``;
``--preview`` then serves it with ``asv preview`` and prints the URL.
``compare`` runs ``asv compare --factor F`` on two benchmarked commits and
exits 1 if any benchmark regressed by more than F (``asv compare`` alone
always exits 0).  Both are thin wrappers of :mod:`harness.perf.history`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _in_venv() -> None:
    """Re-run this script with the project's ``.venv`` python (creating it if needed)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _venv import VENV, ensure_venv

    py = ensure_venv()
    # compare prefixes: the venv's python is usually a symlink to the system one
    if Path(sys.prefix).resolve() != VENV.resolve() and not os.environ.get("CRITBENCH_ASV_CHILD"):
        env = {**os.environ, "CRITBENCH_ASV_CHILD": "1"}
        sys.exit(subprocess.call([str(py), str(Path(__file__).resolve()), *sys.argv[1:]], env=env))


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    from harness.perf import history

    if argv and argv[0] == "compare":
        p = argparse.ArgumentParser(prog="asv_history.py compare")
        p.add_argument("base")
        p.add_argument("new")
        p.add_argument("--factor", type=float, default=history.DEFAULT_FACTOR)
        p.add_argument("--out", default=".asv")
        a = p.parse_args(argv[1:])
        return history.compare(a.base, a.new, out_dir=a.out, factor=a.factor, repo=ROOT)
    if argv and argv[0] == "run":
        argv = argv[1:]
    p = argparse.ArgumentParser(prog="asv_history.py [run]")
    p.add_argument("--commits", type=int, default=3)
    p.add_argument("--commit", action="append", default=[], metavar="REV")
    p.add_argument("--rev", default="HEAD")
    p.add_argument("--bench", action="append", default=[], metavar="REGEX")
    p.add_argument("--full", action="store_true", help="full sampling instead of asv --quick")
    p.add_argument("--out", default=".asv")
    p.add_argument("--preview", action="store_true", help="serve the html with `asv preview` afterwards")
    p.add_argument("--port", type=int, default=0)
    a = p.parse_args(argv)
    try:
        html = history.build_history(a.commits, a.out, repo=ROOT, rev=a.rev, commits=a.commit or None,
                                     quick=not a.full, bench=a.bench)
    except history.HistoryError as exc:
        print(f"asv_history: error: {exc}", file=sys.stderr)
        return 1
    print(f"[history] html written to {html}", flush=True)
    if a.preview:
        conf = html.parent / "asv.conf.json"
        port = a.port
        if not port:
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        print(f"[history] serving at http://127.0.0.1:{port}/  (Ctrl-C to stop)", flush=True)
        try:
            return subprocess.call([sys.executable, "-m", "asv", "preview", "--config", str(conf),
                                    "--port", str(port)], cwd=str(conf.parent))
        except KeyboardInterrupt:
            return 0
    return 0


if __name__ == "__main__":
    _in_venv()
    sys.exit(main(sys.argv[1:]))
