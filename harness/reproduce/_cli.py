"""``critbench reproduce [NAME ...] [--quick | --full] [--out DIR] [--list]``.

Runs the named experiments (default: all) and writes ``OUT/<name>/index.html``,
``summary.md``, ``summary.json`` and figures, plus ``OUT/index.md`` linking them.
Runs are stored in ``OUT/runs`` by the harness's runner: an interrupted
``reproduce`` resumes where it stopped.  Unknown names give a one-line error.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._registry import MODES, Context, experiments, get_experiment

DEFAULT_OUT = Path("results") / "reproduce"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The subcommand's options (``harness.cli`` calls this)."""
    p.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (default: all; see --list)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="small versions, a few minutes in all (default)")
    mode.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="the thesis-sized versions (long; resumable)")
    p.set_defaults(mode="quick")
    p.add_argument("--out", default=None, help=f"output directory (default: {DEFAULT_OUT}/<mode>)")
    p.add_argument("--list", action="store_true", help="list the experiments and exit")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def reproduce(names: Sequence[str] | None, mode: str = "quick", out: str | Path | None = None, *,
              quiet: bool = True, progress: Any = None) -> list[Path]:
    """Run the experiments ``names`` (all if empty) in ``mode``; returns the pages written."""
    from ._page import results_table, write_page

    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    exps = [get_experiment(n) for n in names] if names else list(experiments().values())
    out = Path(out) if out is not None else DEFAULT_OUT / mode
    ctx = Context(mode, out, progress=progress, quiet=quiet)
    pages = []
    for exp in exps:
        t = time.perf_counter()
        ctx.log(f"{exp.name}: {exp.title}")
        page = exp.run(ctx)
        pages.append(write_page(page, out / exp.name))
        ctx.log(f"{exp.name}: done in {time.perf_counter() - t:.0f} s -> {pages[-1]}")
    done = sorted(p.name for p in out.iterdir() if (p / "summary.md").is_file()) if out.is_dir() else []
    lines = [f"# critbench reproduce ({mode})", ""]
    lines += [f"* [{n}]({n}/summary.md) ([HTML]({n}/index.html))" for n in done]
    lines += ["", "## Ours next to the published numbers", "", results_table(out)]
    (out / "index.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return pages


def main_reproduce(args: argparse.Namespace) -> int:
    """CLI entry: ``--list`` or run."""
    if args.list:
        for exp in experiments().values():
            print(f"{exp.name:<14} {exp.title} [{exp.source}]")
        return 0
    from harness.run.progress import make_progress

    with make_progress(args.quiet) as progress:  # a bar per cell on a TTY; log lines always (unless --quiet)
        pages = reproduce(args.names, args.mode, args.out, quiet=args.quiet, progress=progress)
    for p in pages:
        print(f"page: {p}")
    return 0
