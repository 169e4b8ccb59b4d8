"""The ``critbench`` command line: argument parsing and printing only.

Commands (each a few lines calling the runner, the scorer or the report):

* ``critbench`` -- run the default scorecard into ``results/scorecard/``
  (resumable), print it, write the HTML report;
* ``critbench cases [NAME] [--param k=v] [--json]`` -- list cases / ground truth;
* ``critbench solvers`` -- list solvers and their options;
* ``critbench run --case NAME --solver NAME ...`` -- run one cell;
* ``critbench bench [--quick] [--size 1e4|1e5|4e5 ...] [--json FILE]`` -- throughput figures (:mod:`harness.perf.bench`);
* ``critbench sweep SPEC.toml --out DIR [--scheduler ADDR] [--workers N] [--dry-run]``
  -- expand a sweep file into shards and run them on Dask (:mod:`harness.sweep`);
* ``critbench score DIR`` (alias ``summary``) -- the table of stored results;
* ``critbench report DIR [--out FILE] [--baseline BASE] [--save-cutoffs]`` -- the HTML report
  (with a section of changed runs against ``BASE``), written to ``FILE`` (default
  ``results/reports/<DIR name>.html``): nothing is written into ``DIR`` unless
  ``--save-cutoffs`` asks to keep the cutoff analysis there;
* ``critbench store check DIR`` / ``critbench store reindex DIR --trust`` -- what the
  store's index vouches for, and rebuilding the index on the user's word (``docs/store.md``);
* ``critbench compare BASE NEW`` / ``critbench history ...`` -- delegated to
  :mod:`harness.gate.compare` / :mod:`harness.perf.history` when installed;
* ``critbench reproduce [NAME ...] [--quick | --full]`` -- :mod:`harness.reproduce`;
* ``critbench suite run --solver S --out DIR``, ``critbench leaderboard DIR ...`` -- :mod:`harness.leaderboard`;
* ``critbench site OUT [--serve]`` -- :mod:`harness.site.command`.

Exit status (``docs/design.md``, "Exit codes"):

* ``0`` -- done;
* ``1`` -- the solver failed: ``critbench`` / ``critbench run`` finished every
  run and printed the summary, but some run's outcome is ``error`` (the solver
  raised) or ``invalid`` (it returned a malformed result); one line on stderr
  names the first such run, its seed and the reason;
* ``2`` -- bad user input (unknown names, bad parameters/options, malformed or
  missing result files): one line on stderr, never a traceback;
* ``130`` -- interrupted (finished batches are stored; rerun to resume).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.jitcache.compile_cache import COMPILE_CACHE_HELP
from harness.results.columns import columns
from harness.results.store import json_default as _json_default
from harness.run.command import EXIT_USAGE, CLIError, solver_failures

DEFAULT_RESULTS = Path("results") / "scorecard"
#: Where ``critbench report DIR`` writes ``<DIR name>.html`` without ``--out`` (outside every result directory).
DEFAULT_REPORTS = Path("results") / "reports"
#: Commands that compile solvers: JAX's persistent compilation cache is enabled for them at start-up.
COMPILING_COMMANDS = {"cmd_default", "cmd_run", "cmd_bench", "cmd_reproduce"}


def _user_errors() -> tuple[type[BaseException], ...]:
    from cases import CaseError
    from harness.run.spec import ParamError
    from harness.solvers import SolverError
    from harness.results.store import StoreError

    return (CaseError, SolverError, StoreError, ParamError, CLIError, ValueError, FileNotFoundError)  # SweepError is a ValueError


# --------------------------------------------------------------------------- printing
def summary_table(rows: Sequence[Mapping[str, Any]], wide: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and cells of :func:`harness.scoring.summary.summarize` rows: the ``terminal-compact`` columns of
    :data:`harness.results.columns.COLUMNS`, or the ``terminal`` ones with ``wide``."""
    cols = columns("terminal" if wide else "terminal-compact")
    return [c.short for c in cols], [[c.text(r) for c in cols] for r in rows]


def print_summary(rows: Sequence[Mapping[str, Any]], title: str = "critbench scorecard", wide: bool = False) -> None:
    """Print :func:`harness.scoring.summary.summarize` rows as a table that fits the terminal (stdout).

    The compact default (view ``terminal-compact``) fits 100 columns; ``wide`` adds
    every column (names and headers wrap to fit; where even that is too wide the
    table is printed wider than the terminal rather than cutting a number).
    """
    from harness._terminal import print_table

    head, body = summary_table(rows, wide)
    wrap = {c.short for c in columns("terminal" if wide else "terminal-compact") if c.wrap}
    caption = ("correct: runs the ground truth certifies correct among those it could judge (--wide: counts, "
               "unverified runs outside a partial ground truth's classes, diverged, loss error, seconds).  flat "
               "final/ever: r, r_H recomputed by the harness at the final point and the cutoff snapshots.")
    if wide:
        caption += "  reported: from the solver's own trace (unverified)."
    print_table(head, body, title=title, caption=caption,
                atomic=[j for j, h in enumerate(head) if h not in wrap])


def _render_html(results_dir: Path, out: Path | None, baseline: str | None = None) -> Path | None:
    """Call ``harness.report.render_report`` if the report module exists (``baseline``: compare section)."""
    try:
        report = importlib.import_module("harness.report")
    except ModuleNotFoundError:
        return None
    render = getattr(report, "render_report", None)
    if render is None:
        return None
    from harness.scoring.cutoffs import write_cutoff_analyses

    write_cutoff_analyses(results_dir)  # thesis Fig. 3.3 from the stored snapshots (needs Hessians)
    return Path(render(results_dir, out) if baseline is None else render(results_dir, out, baseline=baseline))


# --------------------------------------------------------------------------- commands


def cmd_default(args: argparse.Namespace) -> int:
    from harness.run.progress import make_progress
    from harness.run.runner import run_suite
    from harness.scoring.summary import summarize
    from harness.run.suite import default_specs

    out = Path(args.out)
    with make_progress(args.quiet) as progress:
        records = run_suite(default_specs(), out, progress=progress, command=["critbench", *args.argv],
                            jobs=args.jobs, time_limit=args.time_limit, memory_limit=args.memory_limit)
    print_summary(summarize(records), wide=args.wide)
    html = _render_html(out, None)
    print(f"results: {out}" + (f"; HTML report: {html}" if html else " (HTML report module not installed)"))
    return solver_failures(records)


def cmd_cases(args: argparse.Namespace) -> int:
    from cases import case_names, case_spec, get_case

    if args.name is None:
        if args.param:
            raise CLIError("--param needs a case NAME")
        rows = []
        for name in case_names():
            spec = case_spec(name)
            rows.append({"name": name, "dim": get_case(name).dim, "small_dim": get_case(name, **spec.small_params).dim,
                         "ground_truth": spec.ground_truth_kind, "description": spec.description})
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for r in rows:
                print(f"{r['name']:<18} dim={r['dim']:<6} small_dim={r['small_dim']:<5} "
                      f"ground_truth={r['ground_truth']:<8} {r['description']}")
        return 0
    if args.verify or args.certificate is not None:
        return _verify_case(args)
    case = get_case(args.name, **_case_params(args.name, args.param))
    gt = case.ground_truth
    klass = _class_arg(gt, args.klass) if args.klass is not None else None
    n_cls = getattr(gt, "n_classes", None) if gt is not None else None  # a big integer for lazy ground truth
    if args.json:
        payload = {"name": case.name, "params": dict(case.params), "dim": case.dim,
                   "ground_truth": None if gt is None else gt.to_json()}
        if klass is not None:
            payload["class"] = klass.to_json()
        print(json.dumps(payload, indent=2, default=_json_default))
    else:
        print(f"{case.name}: dim={case.dim} params={dict(case.params)}")
        print(f"  {case.description or case_spec(args.name).description}")
        if gt is not None:
            print(f"  ground truth: {gt.kind}, {n_cls if n_cls is not None else len(gt.classes)} critical classes, "
                  f"{len(gt.flat_points)} gradient-flat points")
        if klass is not None:
            print(f"  class {klass.label}: loss={klass.loss:.12g} index_count={klass.index_count} "
                  f"index_fraction={klass.index_fraction:.6g} nullity={klass.nullity}")
    return 0


def _verify_case(args: argparse.Namespace) -> int:
    """``critbench cases NAME --verify``: run the case's certificate; one line per outcome."""
    from cases.certificates import certify

    if not args.verify:
        raise CLIError("--certificate needs --verify")
    params = _case_params(args.name, args.param)
    options: dict[str, Any] = {}
    if args.certificate is not None:
        if args.name != "relu-teacher-student":
            raise CLIError("--certificate is only for relu-teacher-student")
        try:
            options["stored"] = json.loads(Path(args.certificate).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CLIError(f"--certificate {args.certificate}: {str(exc).splitlines()[0]}") from None
    cert = certify(args.name, **params, **options)
    label = f"{args.name} {' '.join(f'{k}={v}' for k, v in params.items())}"
    if not cert.ok:
        first = cert.failures[0] if cert.failures else None
        print(f"{label}: NOT verified: {first.name}: {first.detail}" if first else f"{label}: NOT verified: no checks")
        return 1
    print(f"{label}: verified ({len(cert.checks)} checks, {cert.method})")
    return 0


def _class_arg(gt: Any, text: str) -> Any:
    """The class named by ``--class`` (comma-separated subset ``S`` for the DLAE, else a label)."""
    if gt is None:
        raise CLIError("--class needs a case with ground truth")
    if hasattr(gt, "class_for_subset"):
        try:
            subset = [int(v) for v in text.split(",") if v.strip()]
            return gt.class_for_subset(subset)
        except ValueError as exc:
            raise CLIError(f"--class {text!r}: {str(exc).splitlines()[0]}") from None
    try:
        return gt.class_by_label(text)
    except KeyError:
        raise CLIError(f"--class {text!r}: no such class") from None


def cmd_solvers(args: argparse.Namespace) -> int:
    from harness.solvers import solver_specs

    specs = solver_specs()
    if args.json:
        rows = [{"name": s.name, "builtin": s.builtin, "description": s.description,
                 "options": s.option_defaults()} for s in specs]
        print(json.dumps(rows, indent=2, default=_json_default))
        return 0
    for s in specs:
        opts = ", ".join(f"{k}={v!r}" for k, v in s.option_defaults().items())
        print(f"{s.name:<15} {'built-in' if s.builtin else 'plugin':<8} {s.description}")
        print(f"{'':<15} options: {opts or '(none)'}")
    return 0


def _case_params(name: str, items: Sequence[str]) -> dict[str, Any]:
    """The case's complete typed parameters from ``--param K=V`` strings (parsed once, here)."""
    from cases import case_spec
    from harness.run.spec import parse_assignments

    return parse_assignments(items, case_spec(name).defaults(), owner=f"case {name!r}")


def cmd_run(args: argparse.Namespace) -> int:
    from harness.run.progress import make_progress
    from harness.run.runner import RunSpec, run_suite
    from harness.run.spec import split_assignments
    from harness.scoring.summary import summarize

    # KEY=VALUE strings as given: RunSpec types them once (a plug-in's, in the worker that describes it)
    spec = RunSpec(args.case, split_assignments(args.param), args.solver,
                   split_assignments(args.option, what="option"), args.runs,
                   args.seed, max_iter=args.max_iter, tol=args.tol, batch_size=args.batch_size,
                   threads=args.threads)
    with make_progress(args.quiet) as progress:
        records = run_suite([spec], args.out, progress=progress, command=["critbench", *args.argv],
                            time_limit=args.time_limit, memory_limit=getattr(args, "memory_limit", None))
    print_summary(summarize(records), title=f"{args.case} × {args.solver}", wide=args.wide)
    print(f"results: {args.out}")
    return solver_failures(records)


def cmd_bench(args: argparse.Namespace) -> int:
    from harness.perf.bench import main_bench

    return main_bench(args)


def cmd_sweep(args: argparse.Namespace) -> int:
    from harness.sweep import dry_run_rows, load_sweep, run_sweep

    sweep = load_sweep(args.spec)
    if args.workers is not None and args.workers < 1:
        raise CLIError(f"--workers must be >= 1, got {args.workers}")
    if args.dry_run:
        rows = dry_run_rows(sweep)
        for r in rows:
            params = ",".join(f"{k}={v}" for k, v in r["case_params"].items())
            opts = ",".join(f"{k}={v}" for k, v in r["solver_options"].items())
            print(f"{r['case']}[{params}] x {r['solver']}[{opts}] seed={r['seed']} max_iter={r['max_iter']} "
                  f"tol={r['tol']:g}: {r['runs']} runs in {r['shards']} block(s) on {r['batch']} lanes, "
                  f"<= {r['hvp_bound']:,} HVPs")
        print(f"sweep {sweep.name}: {len(rows)} cells, {sum(r['runs'] for r in rows)} runs, "
              f"{sum(r['shards'] for r in rows)} blocks, <= {sum(r['hvp_bound'] for r in rows):,} HVPs (budget bound); "
              f"swept: {', '.join(sweep.swept) or '(nothing)'}")
        return 0
    out = Path(args.out)
    outcome = run_sweep(sweep, out, scheduler=args.scheduler, workers=args.workers, command=["critbench", *args.argv],
                        compile_cache=None if args.scheduler else out / ".jax-cache", quiet=args.quiet,
                        log=lambda m: print(m, file=sys.stderr), time_limit=args.time_limit)
    print(f"sweep {sweep.name}: {outcome.cells} cells, {outcome.shards} blocks to run "
          f"({outcome.skipped_runs} runs already stored): {outcome.stored} stored, {outcome.failed} failed, "
          f"{outcome.retried} retried, {outcome.failed_runs} runs error/invalid/timeout; results: {out}")
    for line in outcome.failures[:5]:
        print(f"critbench: failed block: {line}", file=sys.stderr)
    return 1 if outcome.failed or outcome.failed_runs else 0


def _store_notes(directory: str | Path, prog: str = "critbench") -> None:
    """Print one line per problem the store's index check finds (ignored lines, missing arrays; stderr).
    A missing directory or index is left to the loader that follows (its one-line error)."""
    from harness.results.store import StoreError, check_store

    try:
        chk = check_store(directory)
    except StoreError:
        return
    if chk.no_index:
        return
    for note in chk.notes():
        print(f"{prog}: warning: {directory}: {note}", file=sys.stderr)


def cmd_score(args: argparse.Namespace) -> int:
    from harness.results.columnar import SCORE_FIELDS, load_columns
    from harness.scoring.summary import summarize

    _store_notes(args.dir)  # lines not written by critbench, missing arrays: one line each
    # only the fields summarize reads: from the Parquet snapshot when there is one, else runs.jsonl
    records = load_columns(args.dir, SCORE_FIELDS)
    if not records:
        raise CLIError(f"no run records in {args.dir}")
    rows = summarize(records)
    if args.json:
        print(json.dumps(rows, indent=2, default=_json_default))
    else:
        print_summary(rows, title=f"results: {args.dir}", wide=args.wide)
    return 0


def default_report_path(results_dir: str | Path) -> Path:
    """``results/reports/<DIR name>.html``: the report's default output, outside the result directory."""
    name = Path(results_dir).resolve().name or "results"
    return DEFAULT_REPORTS / f"{name}.html"


def cmd_report(args: argparse.Namespace) -> int:
    from harness.results.store import check_result_dir, load_records

    root = check_result_dir(args.dir)  # one-line error: missing directory, runs.jsonl or arrays/
    _store_notes(root)
    load_records(root, warn=False)  # every counted record valid (file and line named otherwise)
    try:
        report = importlib.import_module("harness.report")
    except ModuleNotFoundError:
        raise CLIError("the HTML report module (harness.report) is not installed") from None
    from harness.scoring.cutoffs import cutoff_analyses, write_cutoff_analyses

    out = Path(args.out) if args.out else default_report_path(root)
    if not args.out and out.resolve().is_relative_to(root.resolve()):
        raise CLIError(f"the default report path {out} lies inside {root}: pass --out FILE")
    if args.save_cutoffs:  # asked: keep the analysis in the result directory (reused while fresh)
        saved = write_cutoff_analyses(root)
        analyses = None if saved is not None else {}  # the report reads the file just written
    else:  # thesis Fig. 3.3 from the stored snapshots, in memory: nothing in DIR is written, or trusted
        analyses = cutoff_analyses(root)
    html = report.render_report(root, out, cutoff_analyses=analyses, baseline=getattr(args, "baseline", None),
                                warn=False)
    print(f"HTML report: {html}")
    return 0


def cmd_store(args: argparse.Namespace) -> int:
    from harness.results.store import check_store, reindex

    if args.action == "reindex":
        n = reindex(args.dir, trust=args.trust)
        print(f"indexed {n} lines of {args.dir}/runs.jsonl (on your word: --trust)")
        return 0
    chk = check_store(args.dir, array_hashes=True)
    runs = sum(len(e.run_ids) for e in chk.verified)
    print(f"{args.dir}: {len(chk.verified)} batches, {runs} runs written by critbench"
          + ("" if chk.notes() else "; nothing ignored, no arrays missing or rewritten"))
    for note in chk.notes() + chk.remarks():
        print(f"  {note}")
    return 1 if chk.notes() else 0


def _delegate(module: str, func: str, *call_args: Any) -> int:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise CLIError(f"this command needs {module}, which is not installed") from None
    return int(getattr(mod, func)(*call_args) or 0)


def cmd_compare(args: argparse.Namespace) -> int:
    return _delegate("harness.gate.compare", "main_compare", args.base, args.new, args)


def cmd_history(args: argparse.Namespace) -> int:
    return _delegate("harness.perf.history", "main_history", args)


def cmd_reproduce(args: argparse.Namespace) -> int:
    return _delegate("harness.reproduce", "main_reproduce", args)


# leaderboard (issue 23): standard suites, ranking against the reference archive; the static site
def cmd_suite(args: argparse.Namespace) -> int:
    return _delegate("harness.leaderboard.cli", "main_suite", args)


def cmd_leaderboard(args: argparse.Namespace) -> int:
    return _delegate("harness.leaderboard.cli", "main_leaderboard", args)


def cmd_site(args: argparse.Namespace) -> int:
    from harness.site.command import site_command

    return site_command(args.out, results=args.results, suite=args.suite, archive=args.archive, alpha=args.alpha,
                        allow_mixed=args.allow_mixed_suites, runs_pages=args.runs_pages,
                        docs_results=args.docs_results, asv_html=args.asv_html, serve=args.serve, port=args.port)


def _one_line_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None,
                      line: Any = None) -> None:
    print(f"critbench: warning: {message}", file=sys.stderr)


# --------------------------------------------------------------------------- parser
def _add_arguments_from(parser: argparse.ArgumentParser, module: str, func: str) -> None:
    """Let an optional module declare its subcommand's options (none if it is absent)."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return
    getattr(mod, func)(parser)


from harness.run.limits import DEFAULT_TIME_LIMIT  # noqa: E402 - seconds per run (see its definition)

TIME_LIMIT_HELP = (f"time limit per run, in seconds (default {DEFAULT_TIME_LIMIT:g}; 'none' for no limit): a block "
                   "of n runs gets n times it from dispatch (compile warm-up included), loading a plug-in gets one "
                   "run's time; a block past it is stopped, its runs recorded as 'timeout', and the rest goes on")
MEMORY_LIMIT_HELP = ("address-space limit of each plug-in worker, e.g. 4G or 512M (default: half of this machine's "
                     "memory; 'none' for no limit); a plug-in past it fails its block")


def _memory_limit(text: str) -> int | None:
    """``--memory-limit`` value: bytes (suffix K, M, G, T), ``none`` or 0 for no limit."""
    from harness.run.sandbox import parse_memory

    try:
        return parse_memory(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


WIDE_HELP = ("every column of the summary table (default: a compact set that fits the terminal, or 100 columns "
             "when piped; COLUMNS overrides)")


def _time_limit(text: str) -> float | None:
    """``--time-limit`` value: seconds > 0, or ``none``."""
    if text.strip().lower() in ("none", "off", "0"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds or 'none', got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0 or 'none', got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``)."""
    from harness.run.plan import DEFAULT_BATCH

    p = argparse.ArgumentParser(prog="critbench", description="Benchmark critical-point finders of NN losses.")
    p.add_argument("--out", default=str(DEFAULT_RESULTS), help="results directory of the default scorecard")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--wide", action="store_true", help=WIDE_HELP)
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="worker processes for the scorecard's cells (default: min(2, cores))")
    p.add_argument("--compile-cache", default=None, metavar="DIR|off", help=COMPILE_CACHE_HELP)
    p.add_argument("--time-limit", type=_time_limit, default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                   help=TIME_LIMIT_HELP)
    p.add_argument("--memory-limit", type=_memory_limit, default=None, metavar="BYTES", help=MEMORY_LIMIT_HELP)
    p.set_defaults(func=cmd_default)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("cases", help="list cases, or show one case's ground truth")
    c.add_argument("name", nargs="?")
    c.add_argument("--param", action="append", default=[], metavar="K=V")
    c.add_argument("--json", action="store_true")
    c.add_argument("--class", dest="klass", default=None, metavar="S",
                   help="answer for one class: comma-separated eigen-indices S for dlae (e.g. 0,1,5), else a label")
    c.add_argument("--verify", action="store_true",
                   help="recheck the case's certificate (relu-teacher-student: every committed ball-arithmetic "
                        "certificate, from its JSON alone); exit 1 with one line naming the failed check")
    c.add_argument("--certificate", default=None, metavar="PATH",
                   help="with --verify on relu-teacher-student: check this certificate JSON instead of the committed one")
    c.set_defaults(func=cmd_cases)

    s = sub.add_parser("solvers", help="list solvers and their options")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_solvers)

    r = sub.add_parser("run", help="run one solver on one case")
    r.add_argument("--case", required=True, metavar="NAME", help="case to run (see `critbench cases`)")
    r.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="case parameter (repeatable; default: the case's defaults, see `critbench cases NAME`)")
    r.add_argument("--solver", required=True, metavar="NAME", help="registered name or module:attr")
    r.add_argument("--option", action="append", default=[], metavar="K=V",
                   help="solver option (repeatable; default: the solver's defaults, see `critbench solvers`)")
    r.add_argument("--runs", type=int, default=10, metavar="N", help="runs, one initial point each (default 10)")
    r.add_argument("--seed", type=int, default=0, help="seed of the initial points, >= 0 (default 0)")
    r.add_argument("--max-iter", type=int, default=500, metavar="N", help="iteration budget per run (default 500)")
    r.add_argument("--tol", type=float, default=1e-10,
                   help="the solver's stopping tolerance on ||grad L||^2 (default 1e-10)")
    r.add_argument("--batch-size", type=int, default=None, metavar="B",
                   help=f"runs per vmapped solve (default {DEFAULT_BATCH}; large cases on a CPU: one at a time)")
    r.add_argument("--threads", type=int, default=None,
                   help="blocks of runs solved concurrently (default: one per core for one-at-a-time blocks on a CPU, "
                        "else 1)")
    r.add_argument("--out", required=True, metavar="DIR", help="result directory (created; resumable)")
    r.add_argument("--time-limit", type=_time_limit, default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                   help=TIME_LIMIT_HELP)
    r.add_argument("--memory-limit", type=_memory_limit, default=argparse.SUPPRESS, metavar="BYTES",
                   help=MEMORY_LIMIT_HELP)
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.add_argument("--wide", action="store_true", help=WIDE_HELP)
    r.add_argument("--compile-cache", default=argparse.SUPPRESS, metavar="DIR|off", help=COMPILE_CACHE_HELP)
    r.set_defaults(func=cmd_run)

    b = sub.add_parser("bench", help="throughput: time per gradient/HVP/iteration/success vs the f64 matmul peak")
    b.add_argument("--case", action="append", default=None, help="case (repeatable; default: dlae, quartic)")
    b.add_argument("--batch", action="append", type=int, default=None, help="batch size (repeatable; default 1, 20, 1000)")
    b.add_argument("--runs", type=int, default=100, help="Newton-MR runs per batch size (at least the batch)")
    b.add_argument("--max-iter", type=int, default=500)
    b.add_argument("--quick", action="store_true", help="small sizes (for tests)")
    b.add_argument("--size", action="append", default=None, metavar="DIM",
                   help="DLAE at ~DIM parameters instead of --case: 1e4, 1e5 or 4e5 (repeatable; batch 1; "
                        "--runs 0: HVP figures only; each row adds the HVP's measured GEMM roofline)")
    b.add_argument("--json", default=None, metavar="FILE")
    b.add_argument("--compile-cache", default=argparse.SUPPRESS, metavar="DIR|off", help=COMPILE_CACHE_HELP)
    b.set_defaults(func=cmd_bench)

    sw = sub.add_parser("sweep", help="run a sweep file (cases x params x solvers x options x seeds) on Dask")
    sw.add_argument("spec", help="sweep file (TOML)")
    sw.add_argument("--out", required=True, help="result directory (resumable)")
    sw.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="an existing Dask scheduler, e.g. tcp://host:8786 (default: a LocalCluster)")
    sw.add_argument("--workers", type=int, default=None,
                    help="LocalCluster worker processes, one thread each (default: one per core)")
    sw.add_argument("--time-limit", type=_time_limit, default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                    help=TIME_LIMIT_HELP)
    sw.add_argument("--dry-run", action="store_true", help="print the expansion (cells, runs, HVP bound) only")
    sw.add_argument("--quiet", action="store_true")
    sw.set_defaults(func=cmd_sweep)

    for name in ("score", "summary"):
        sc = sub.add_parser(name, help="summary table of stored results")
        sc.add_argument("dir")
        sc.add_argument("--json", action="store_true", help="print the rows as JSON instead of the table")
        sc.add_argument("--wide", action="store_true", help=WIDE_HELP)
        sc.set_defaults(func=cmd_score)

    rp = sub.add_parser("report", help="write the HTML report of stored results")
    rp.add_argument("dir")
    rp.add_argument("--out", default=None, metavar="FILE",
                    help=f"HTML file to write (default: {DEFAULT_REPORTS}/<DIR name>.html; never inside DIR unless given)")
    rp.add_argument("--save-cutoffs", action="store_true",
                    help="also save the cutoff analysis as DIR/cutoff_analysis.json (reused by later reports)")
    rp.add_argument("--baseline", default=None, metavar="BASE",
                    help="add a section comparing with BASE (results directory or baseline JSON): tests, changed runs")
    rp.set_defaults(func=cmd_report)

    st = sub.add_parser("store", help="check a result directory's index, or rebuild it on your word")
    st.add_argument("action", choices=("check", "reindex"),
                    help="check: what the index vouches for, lines ignored, arrays missing or rewritten "
                         "(exit 1 if any); reindex: rebuild runs.index from every line of runs.jsonl (needs --trust)")
    st.add_argument("dir")
    st.add_argument("--trust", action="store_true",
                    help="reindex: vouch that every line of runs.jsonl was written by critbench")
    st.set_defaults(func=cmd_store)

    cp = sub.add_parser("compare", help="compare two result directories (harness.gate.compare)")
    cp.add_argument("base")
    cp.add_argument("new")
    _add_arguments_from(cp, "harness.gate.compare", "add_compare_arguments")
    cp.set_defaults(func=cmd_compare)

    hp = sub.add_parser("history", help="asv performance history across commits (harness.perf.history)")
    _add_arguments_from(hp, "harness.perf.history", "add_arguments")
    hp.set_defaults(func=cmd_history)

    rr = sub.add_parser("reproduce", help="rerun the seed papers' experiments (harness.reproduce)")
    _add_arguments_from(rr, "harness.reproduce", "add_arguments")
    rr.set_defaults(func=cmd_reproduce)

    # leaderboard (issue 23): harness.leaderboard.cli declares the options of suite and leaderboard
    su = sub.add_parser("suite", help="standard suites: list, show, or run one solver on every cell")
    _add_arguments_from(su, "harness.leaderboard.cli", "add_suite_arguments")
    su.set_defaults(func=cmd_suite)
    lb = sub.add_parser("leaderboard", help="rank new methods beside the reference archive, with paired verdicts")
    _add_arguments_from(lb, "harness.leaderboard.cli", "add_leaderboard_arguments")
    lb.set_defaults(func=cmd_leaderboard)
    st = sub.add_parser("site", help="write the static results site (leaderboard, cases, solvers, reproductions)")
    st.add_argument("out", help="site directory to write")
    st.add_argument("--results", nargs="+", action="extend", default=[], metavar="DIR",
                    help="result directories of new methods (repeatable, accumulates; default: none, references only)")
    _add_arguments_from(st, "harness.leaderboard.cli", "add_ranking_arguments")
    st.add_argument("--runs-pages", action="store_true", help="one page per run of the new methods")
    st.add_argument("--docs-results", default="docs/results", help="reproduction pages source (docs/results)")
    st.add_argument("--asv-html", default=".asv/html", help="built asv history to include when present")
    st.add_argument("--serve", action="store_true", help="serve the site on 127.0.0.1 after building it")
    st.add_argument("--port", type=int, default=0, help="port for --serve (default: any free one)")
    st.set_defaults(func=cmd_site)
    return p


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost (sub)command parser ``args`` went through (``critbench suite run`` -> its own parser)."""
    for dest in ("command", "action"):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction) and a.dest == dest]
        name = getattr(args, dest, None)
        if not subs or name not in subs[0].choices:
            break
        parser = subs[0].choices[name]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 on a user error, with one line on stderr)."""
    from harness._shadow import ShadowedPackageError, check_not_shadowed

    try:  # a user's own `cases` folder first on sys.path: one line, not an ImportError later
        check_not_shadowed("cases")
    except ShadowedPackageError as exc:
        print(f"critbench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # the usage of the (sub)command that was given, not the top-level one
            _command_parser(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # argparse already printed its one-line usage error
        return int(exc.code or 0)
    args.argv = argv
    try:
        if getattr(args.func, "__name__", "") in COMPILING_COMMANDS:  # persistent cache on by default
            from harness.jitcache.compile_cache import enable_compile_cache

            enable_compile_cache(getattr(args, "compile_cache", None))
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _one_line_warning
            return int(args.func(args) or 0)
    except _user_errors() as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"critbench: error: {msg}", file=sys.stderr)
        return int(getattr(exc, "exit_status", EXIT_USAGE))  # e.g. ForeignRecordsError: 1, not a user error
    except BrokenPipeError:  # e.g. `critbench solvers | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("critbench: interrupted (finished batches are stored; rerun to resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
