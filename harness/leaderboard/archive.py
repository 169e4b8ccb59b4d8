"""The reference archive: the built-in solvers' per-run results on a standard suite.

One Parquet file per suite, ``harness/leaderboard/reference/<suite>.parquet``
(package data), one row per run with the columns :data:`COLUMNS` (what the
leaderboard's tables, paired tests and ECDFs read; the per-run arrays --
trajectories, final points -- are not archived: rerun a cell to see them) and
file-level metadata :data:`META_KEY` (JSON): the suite name and fingerprint,
the critbench / JAX / NumPy versions, the git commit, the command and the time.
A methods author never reruns the references: ``critbench leaderboard`` reads
this file (COCO's archive of reference algorithms, Hansen et al. 2021).

Regenerate it with ONE command (runs every built-in solver on every cell, with
``--jobs 1`` by default; resumable through the results directory)::

    python -m harness.leaderboard.archive [--suite standard-v1] [--jobs 1] [--results DIR]

(``critbench leaderboard --regenerate-reference`` calls the same function.)
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.leaderboard.suite import get_suite
from harness.run.suite import DEFAULT_SUITE, Suite, SuiteError

__all__ = ["COLUMNS", "META_KEY", "ArchiveError", "archive_path", "check_references", "main", "platform_stamp",
           "read_archive", "reference_drift", "regenerate", "write_archive"]

#: Per-run columns kept in the archive (a subset of the run-record schema, harness.results.records).
COLUMNS = (
    "run_id", "case", "case_key", "case_params", "dim", "solver", "solver_options", "solver_key", "seed", "run_index", "max_iter", "tol",
    "status", "outcome", "correct", "matched_class", "hvps", "grads", "n_iter", "seconds", "compile_seconds",
    "batch_id", "final_loss", "final_grad_norm_sq", "index_count", "index_fraction", "loss_error",
    "index_error_count", "index_error_fraction", "ever_gradient_flat", "reported_ever_gradient_flat",
    "matched_flat_point", "cost_source",
)
#: Columns stored as JSON text (nested values).
JSON_COLUMNS = ("case_params", "solver_options")
#: Parquet schema-metadata key of the archive's stamp.
META_KEY = b"critbench.reference_archive"
FORMAT = "critbench-reference-archive/1"
REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


class ArchiveError(ValueError):
    """A missing or unreadable archive (one-line message)."""


def archive_path(suite: str = DEFAULT_SUITE) -> Path:
    """Where the committed archive of ``suite`` lives (package data)."""
    return REFERENCE_DIR / f"{suite}.parquet"


def write_archive(records: Sequence[Mapping[str, Any]], path: str | Path, *, suite: Suite,
                  **stamp: Any) -> Path:
    """Write ``records`` (projected on :data:`COLUMNS`) as a zstd Parquet file stamped with ``suite`` and ``stamp``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = sorted(records, key=lambda r: (str(r.get("case")), str(r.get("solver")), int(r.get("seed") or 0),
                                          int(r.get("run_index") or 0)))
    data: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    for r in rows:
        for c in COLUMNS:
            v = r.get(c)
            data[c].append(json.dumps(v, sort_keys=True) if c in JSON_COLUMNS and v is not None else v)
    table = pa.table(data)
    meta = {"format": FORMAT, "suite": suite.name, "suite_hash": suite.hash, "runs": len(rows),
            "solvers": sorted({str(r.get("solver")) for r in rows}), **stamp}
    table = table.replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True, default=str).encode()})
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(p)
    return p


def read_archive(path: str | Path | None = None, *, suite: str = DEFAULT_SUITE) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(records, stamp)`` of an archive (default: the committed one of ``suite``).

    Raises:
        ArchiveError: the file is missing or is not a critbench reference archive.
    """
    import pyarrow.parquet as pq

    if path is None:
        get_suite(suite)  # an unknown suite name is its own error
    p = Path(path) if path is not None else archive_path(suite)
    if not p.is_file():
        raise ArchiveError(f"no reference archive at {str(p)!r} (regenerate: python -m harness.leaderboard.archive "
                           f"--suite {suite})")
    try:
        pf = pq.ParquetFile(p)
        raw = (pf.schema_arrow.metadata or {}).get(META_KEY)
        meta = json.loads(raw) if raw else None
        table = pf.read()
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one user error
        raise ArchiveError(f"{str(p)!r} is not a readable Parquet file: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ArchiveError(f"{str(p)!r} is not a critbench reference archive (format {FORMAT!r})")
    cols = {c: table.column(c).to_pylist() for c in table.column_names}
    for c in JSON_COLUMNS:
        if c in cols:
            cols[c] = [None if v is None else json.loads(v) for v in cols[c]]
    records = [dict(zip(cols, row)) for row in zip(*cols.values())]
    return records, meta


def regenerate(suite_name: str = DEFAULT_SUITE, *, results: str | Path | None = None, jobs: int = 1,
               out: str | Path | None = None, progress: Any = None, log: Any = print) -> Path:
    """Run every reference solver on every cell of the suite (resumable in ``results``) and write the archive.

    Returns the archive path (default: the committed location, :func:`archive_path`).
    """
    from harness.results.store import ResultStore, load_meta
    from harness.run import provenance
    from harness.run.runner import run_suite

    suite = get_suite(suite_name)
    res = Path(results) if results is not None else Path("results") / "leaderboard-reference" / suite.name
    if res.exists():
        have = (load_meta(res).get("suite"), load_meta(res).get("suite_hash"))
        if have[0] is not None and have != (suite.name, suite.hash):
            raise SuiteError(f"{str(res)!r} holds results of suite {have[0]} ({have[1]}): use another --results")
    specs = suite.reference_specs()
    stored = len(ResultStore(res).finished_run_ids()) if res.exists() else 0
    ResultStore(res).write_meta(**suite.stamp())
    t0 = time.perf_counter()
    command = ["python", "-m", "harness.leaderboard.archive", "--suite", suite.name, "--jobs", str(jobs)]
    records = run_suite(specs, res, progress=progress, command=command, jobs=jobs)
    wall = time.perf_counter() - t0
    prov = provenance.collect()
    path = write_archive(records, out or archive_path(suite.name), suite=suite,
                         critbench=prov.get("critbench"), jax=prov.get("jax"), jaxlib=prov.get("jaxlib"),
                         numpy=prov.get("numpy"), python=prov.get("python"), device=prov.get("device"),
                         git_commit=prov.get("git_commit"), platform=platform_stamp(), command=command, jobs=jobs,
                         wall_seconds=round(wall, 1), runs_already_stored=stored,
                         runs_git_commits=sorted({str((r.get("provenance") or {}).get("git_commit")) for r in records}), created=datetime.datetime.now(datetime.timezone.utc)
                         .isoformat(timespec="seconds"))
    log(f"reference archive of {suite.name}: {len(records)} runs of {len(suite.reference_solvers)} solvers on "
        f"{len(suite.cells)} cells ({stored} already stored in {res}) in {wall:.0f} s -> {path} "
        f"({path.stat().st_size / 1024:.0f} KiB)")
    return path


#: CPU flags that change XLA's generated code (vector width, FMA): recorded by name when present.
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_bf16",
              "amx_tile", "asimd", "sve")


def platform_stamp() -> dict[str, Any]:
    """The machine an archive was computed on: CPU model and SIMD flags, OS/arch, jaxlib, ``XLA_FLAGS``.

    Outcomes and HVP counts of the same starts can differ between platforms
    (floating-point reassociation in XLA's kernels), so an archive records its
    platform and ``critbench leaderboard --check-references`` compares it with this one.
    """
    import os
    import platform as _pf
    from importlib.metadata import PackageNotFoundError, version

    model: str | None = None
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, val = line.partition(":")
            key = key.strip().lower()
            if key in ("model name", "cpu model", "hardware") and not model:
                model = val.strip()
            elif key in ("flags", "features") and not flags:
                flags = set(val.split())
    except OSError:
        pass
    model = model or _pf.processor() or None
    try:
        jaxlib = version("jaxlib")
    except PackageNotFoundError:
        jaxlib = None
    return {"cpu_model": model, "cpu_flags": sorted(f for f in SIMD_FLAGS if f in flags),
            "machine": _pf.machine(), "system": _pf.system(), "cpu_count": os.cpu_count(), "jaxlib": jaxlib,
            "xla_flags": os.environ.get("XLA_FLAGS") or None}


def platform_differences(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> list[str]:
    """``"key: A vs B"`` for each platform field that differs (``cpu_count`` ignored); all when one is missing."""
    if not a:
        return ["the archive records no platform (regenerate it to record one)"]
    b = b or {}
    return [f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in ("cpu_model", "cpu_flags", "machine", "system", "jaxlib",
                                                            "xla_flags") if a.get(k) != b.get(k)]


def _start(r: Mapping[str, Any]) -> tuple:
    return (r.get("case_key"), int(r["seed"]), int(r["run_index"]), r.get("max_iter"), r.get("tol"))


def reference_drift(archived: Sequence[Mapping[str, Any]], local: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per (solver, case) cell: how the local rerun of the same starts differs from the archive.

    Runs pair on (case key, seed, run index, budget).  Each row: ``solver``,
    ``case``, ``pairs``, ``outcome_differs`` / ``correct_differs`` / ``hvps_differ``
    (counts of pairs), ``success_archive`` / ``success_local`` (successes among the
    pairs) and ``drifted`` (run indices whose outcome or correctness differs):
    those starts are platform noise for a paired verdict against this reference.
    """
    by = {(str(r.get("solver")), _start(r)): r for r in archived}
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for n in sorted(local, key=lambda r: (str(r.get("solver")), str(r.get("case")), _start(r))):
        a = by.get((str(n.get("solver")), _start(n)))
        if a is None:
            continue
        c = cells.setdefault((str(n.get("solver")), str(n.get("case"))), {
            "solver": str(n.get("solver")), "case": str(n.get("case")), "pairs": 0, "outcome_differs": 0,
            "correct_differs": 0, "hvps_differ": 0, "success_archive": 0, "success_local": 0, "drifted": []})
        c["pairs"] += 1
        c["success_archive"] += a.get("outcome") == "critical"
        c["success_local"] += n.get("outcome") == "critical"
        c["outcome_differs"] += a.get("outcome") != n.get("outcome")
        c["correct_differs"] += a.get("correct") != n.get("correct")
        c["hvps_differ"] += a.get("hvps") != n.get("hvps")
        if (a.get("outcome"), a.get("correct")) != (n.get("outcome"), n.get("correct")):
            c["drifted"].append(int(n["run_index"]))
    return [cells[k] for k in sorted(cells)]


def check_references(solvers: Sequence[str] = (), *, suite_name: str = DEFAULT_SUITE, archive: str | Path | None = None,
                     results: str | Path | None = None, jobs: int = 1, progress: Any = None) -> dict[str, Any]:
    """Rerun the archive's cells of ``solvers`` (default: every reference) here and measure the drift.

    Returns ``{"rows": reference_drift(...), "platform": differences, "results": directory}``;
    the reruns are stored (resumable) in ``results`` (default
    ``results/leaderboard-check/<suite>``).

    Raises:
        ArchiveError / SuiteError: unknown solver, missing archive.
    """
    from harness.results.store import ResultStore
    from harness.run.runner import run_suite

    suite = get_suite(suite_name)
    archived, stamp = read_archive(archive, suite=suite.name)
    known = sorted({str(r.get("solver")) for r in archived})
    chosen = list(solvers) or known
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise ArchiveError(f"{unknown[0]!r} is not a reference solver of the archive; choose from {', '.join(known)}")
    res = Path(results) if results is not None else Path("results") / "leaderboard-check" / suite.name
    specs = [s for s in suite.reference_specs() if s.solver in chosen]
    ResultStore(res).write_meta(**suite.stamp())
    local = run_suite(specs, res, progress=progress, command=["critbench", "leaderboard", "--check-references",
                                                              *chosen], jobs=jobs)
    rows = reference_drift([r for r in archived if str(r.get("solver")) in chosen], local)
    return {"rows": rows, "platform": platform_differences(stamp.get("platform"), platform_stamp()),
            "results": str(res)}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.leaderboard.archive``: regenerate the reference archive."""
    p = argparse.ArgumentParser(prog="python -m harness.leaderboard.archive", description=__doc__.splitlines()[0])
    p.add_argument("--suite", default=DEFAULT_SUITE)
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--results", default=None, help="results directory of the reference runs (resumable)")
    p.add_argument("--out", default=None, help="archive file (default: the committed package-data location)")
    args = p.parse_args(argv)
    try:
        from harness.jitcache.compile_cache import enable_compile_cache

        enable_compile_cache(None)
        regenerate(args.suite, results=args.results, jobs=args.jobs, out=args.out)
    except (ValueError, FileNotFoundError) as exc:
        print(f"critbench: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
