"""Arguments and entry points of ``critbench suite`` and ``critbench leaderboard``.

``harness.cli`` only declares the two subcommands and delegates here; this module imports nothing
of the CLI (the shared pieces are in :mod:`harness.run.command`).  ``critbench site`` is
:mod:`harness.site.command`.

* ``critbench suite list`` / ``critbench suite show NAME`` -- the declared suites and their cells;
* ``critbench suite run --solver S [--option K=V] --out DIR [--suite standard-v1] [--jobs N]`` --
  run only ``S`` on every cell (resumable), the result set stamped with the suite;
* ``critbench leaderboard DIR [DIR ...] [--out OUT] [--alpha A] [--archive FILE] [--allow-mixed-suites]``
  -- rank the new methods beside the archived references (never rerun);
  ``critbench leaderboard --regenerate-reference [--jobs 1]`` rebuilds the archive.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

__all__ = ["add_leaderboard_arguments", "add_suite_arguments", "main_leaderboard", "main_suite"]


def add_suite_arguments(p: argparse.ArgumentParser) -> None:
    """``suite list``, ``suite show [NAME]`` and ``suite run --solver S --out DIR``, each with its own help."""
    from harness.jitcache.compile_cache import COMPILE_CACHE_HELP

    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="list the declared suites", description="List the declared suites.")
    sh = sub.add_parser("show", help="show one suite's cells", description="Show one suite's cells.")
    sh.add_argument("name", nargs="?", default=None, help="suite name (default standard-v1)")
    r = sub.add_parser("run", help="run one solver on every cell of a suite (resumable)",
                       description="Run one solver on every cell of a suite into a stamped, resumable result set; "
                                   "then rank it with `critbench leaderboard DIR`.")
    r.add_argument("--solver", required=True, metavar="NAME", help="registered name or module:attr")
    r.add_argument("--out", required=True, metavar="DIR", help="result directory (created; resumable)")
    r.add_argument("--suite", default=None, help="suite to run (default standard-v1)")
    r.add_argument("--option", action="append", default=[], metavar="K=V",
                   help="solver option (repeatable; default: the solver's defaults, see `critbench solvers`)")
    r.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.add_argument("--compile-cache", default=argparse.SUPPRESS, metavar="DIR|off", help=COMPILE_CACHE_HELP)


def main_suite(args: Any) -> int:
    from harness.leaderboard.suite import DEFAULT_SUITE, get_suite, run_suite_for, suite_names

    if args.action == "list":
        for name in suite_names():
            s = get_suite(name)
            print(f"{s.name:<14} {s.hash}  {len(s.cells)} cells, references: {', '.join(s.reference_solvers)}")
            print(f"{'':<14} {s.description}")
        return 0
    suite = get_suite(getattr(args, "name", None) or getattr(args, "suite", None) or DEFAULT_SUITE)
    if args.action == "show":
        print(f"{suite.name} ({suite.hash}): {suite.description}")
        for c in suite.cells:
            params = ", ".join(f"{k}={v}" for k, v in c.case_params.items()) or "defaults"
            print(f"  {c.case:<16} [{params}] runs={c.runs} max_iter={c.max_iter} seed={c.seed} tol={c.tol:g}")
        return 0
    from harness.jitcache.compile_cache import enable_compile_cache
    from harness.run.command import solver_failures
    from harness.run.progress import make_progress
    from harness.run.spec import split_assignments

    enable_compile_cache(getattr(args, "compile_cache", None))
    t0 = time.perf_counter()
    with make_progress(args.quiet) as progress:
        records = run_suite_for(suite, args.solver, args.out, options=split_assignments(args.option, what="option"),
                                jobs=args.jobs, progress=progress, command=["critbench", *getattr(args, "argv", [])])
    print(f"{suite.name}: {len(records)} runs of {args.solver} on {len(suite.cells)} cells in "
          f"{time.perf_counter() - t0:.0f} s; results: {args.out}")
    print(f"next: critbench leaderboard {args.out}")
    return solver_failures(records)


def add_ranking_arguments(p: argparse.ArgumentParser) -> None:
    """The options that choose what new methods are ranked against (``leaderboard`` and ``site``)."""
    p.add_argument("--suite", default=None, help="suite (default: the result sets' stamp, else standard-v1)")
    p.add_argument("--archive", default=None, help="reference archive (default: the committed one of the suite)")
    p.add_argument("--alpha", type=float, default=0.05, help="family-wise error rate of the verdicts (Holm; 0.05)")
    p.add_argument("--allow-mixed-suites", action="store_true",
                   help="rank result sets of another suite/version than the archive's (noted) instead of refusing")


def add_leaderboard_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dirs", nargs="*", metavar="DIR",
                   help="result directories of new methods (critbench suite run; default: none, the references' board)")
    p.add_argument("--out", default="results/leaderboard", help="where to write leaderboard.json/.md and the ECDF")
    add_ranking_arguments(p)
    p.add_argument("--json", action="store_true", help="print the leaderboard as JSON")
    p.add_argument("--wide", action="store_true",
                   help="every column (default: a compact set that fits the terminal, or 100 columns when piped; "
                        "COLUMNS overrides)")
    p.add_argument("--regenerate-reference", action="store_true",
                   help="rerun every built-in solver on the suite and rewrite the reference archive")
    p.add_argument("--check-references", nargs="*", default=None, metavar="SOLVER",
                   help="rerun the archive's cells of these reference solvers here (default: all) and report "
                        "per-cell drift against the archive, and how this platform differs from the archive's")
    p.add_argument("--jobs", type=int, default=1,
                   help="worker processes for --regenerate-reference / --check-references (default 1)")
    p.add_argument("--results", default=None,
                   help="results directory of --regenerate-reference / --check-references (resumable; default "
                        "results/leaderboard-reference/SUITE, results/leaderboard-check/SUITE)")


def main_leaderboard(args: Any) -> int:
    import json

    from harness.leaderboard.rank import format_text, leaderboard_of, write_outputs
    from harness.results.store import json_default
    from harness.run.command import check_out_dir

    if args.regenerate_reference:
        from harness.leaderboard.archive import regenerate
        from harness.leaderboard.suite import DEFAULT_SUITE
        from harness.jitcache.compile_cache import enable_compile_cache

        enable_compile_cache(None)
        regenerate(args.suite or DEFAULT_SUITE, results=args.results, jobs=args.jobs, out=args.archive)
        return 0
    if args.check_references is not None:
        return _check_references(args)
    check_out_dir(args.out, "--out")
    lb = leaderboard_of(args.dirs, archive=args.archive, suite=args.suite, alpha=args.alpha,
                        allow_mixed=args.allow_mixed_suites)  # no DIR: the references' own board
    paths = write_outputs(lb, args.out)
    if args.json:
        print(json.dumps(lb.to_json(), indent=1, default=json_default))
    else:
        format_text(lb, wide=args.wide)
        print(f"written to {args.out}: {', '.join(p.name for p in paths.values())}")
    return 0


def _check_references(args: Any) -> int:
    """``critbench leaderboard --check-references [SOLVER ...]``: per-cell drift table (``--json``: the rows)."""
    from harness._terminal import print_table
    from harness.leaderboard.archive import check_references
    from harness.leaderboard.suite import DEFAULT_SUITE
    from harness.jitcache.compile_cache import enable_compile_cache
    from harness.run.progress import make_progress

    enable_compile_cache(None)
    with make_progress(False) as progress:
        out = check_references(args.check_references, suite_name=args.suite or DEFAULT_SUITE, archive=args.archive,
                               results=args.results, jobs=args.jobs, progress=progress)
    rows = out["rows"]
    if args.json:
        import json

        print(json.dumps(out, indent=1))
        return 0
    head = ["solver", "case", "pairs", "success archive -> here", "outcome differs", "correct differs",
            "HVPs differ", "drifted runs"]
    body = [[r["solver"], r["case"], str(r["pairs"]), f"{r['success_archive']} -> {r['success_local']}",
             str(r["outcome_differs"]), str(r["correct_differs"]), str(r["hvps_differ"]),
             ", ".join(map(str, r["drifted"][:10])) + (f" (+{len(r['drifted']) - 10})" if len(r["drifted"]) > 10 else "")
             or "none"] for r in rows]
    print_table(head, body, title="reference drift: the archive's runs rerun on this machine",
                atomic=[2, 3, 4, 5, 6],
                caption="Drifted runs (outcome or correctness differs on the same start) are platform noise for "
                        "a paired verdict against that reference.")
    import textwrap

    from harness._terminal import terminal_width

    lines = [f"platform differs: {d}" for d in out["platform"]] or ["platform: same as the archive's"]
    drifted = sum(len(r["drifted"]) for r in rows)
    lines.append(f"{sum(r['pairs'] for r in rows)} runs compared, {drifted} drifted in outcome or correctness, "
                 f"{sum(r['hvps_differ'] for r in rows)} in HVPs; reruns stored in {out['results']}")
    for line in lines:
        print(textwrap.fill(line, terminal_width(), subsequent_indent="  ", break_long_words=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(0)
