"""The leaderboard: new methods beside every reference method, on the same starts.

Inputs: result directories of new methods (``critbench suite run``) and the
reference archive of the suite (:mod:`harness.leaderboard.archive`); the
references are read from the archive, never rerun.

Per case (``case``, ``case_key``) and solver the numbers are exactly those of
``critbench score`` (:func:`harness.scoring.summary.summarize`, called on the
same records): success (critical outcomes) and correct with Wilson 95%
intervals, HVPs per success, gradient-flat detections (verified by the
harness), and COCO's expected running time ``ERT = sum of HVPs over all runs /
successes`` (Hansen et al., "COCO: performance assessment", 2021).  Within a
case solvers are ranked by success fraction (higher first), then correct
fraction, then HVPs per success (lower first).

Overall ranking (lexicographic, :func:`_overall`): solvers covering more cells
first (a partial result set is not comparable), then **success over all runs**
(higher first), then **correct over all verified runs**, and only between
solvers tied on both a **cost measure over the cells every tied solver
solved**: the geometric mean of their cost per success there (judge-measured
CPU seconds when every such record carries ``judge_cpu_seconds``, else HVPs).
Cheapness on cells that every solver solves never outweighs success on the
cells that separate them.  The mean per-case rank is reported, not ranked on.

Paired tests.  Run ``i`` of a ``(case, seed)`` starts from the same initial
point for every solver (:mod:`harness.run.initial_points`), so for each pair
(new method ``N``, reference ``R``) and each case, runs pair on
``(seed, run_index)`` (and the same budget ``max_iter``, ``tol``).  Two-sided
exact tests, built from the gate's one-sided ones
(:mod:`harness.gate.compare`, ``docs/gate-power.md``):

* **success** and **correct**: exact McNemar -- of the ``d`` discordant pairs,
  ``b`` favour ``R``; under H0 ``b ~ Binomial(d, 1/2)``, two-sided
  ``p = min(1, 2 min(P(B >= b), P(B <= b)))``;
* **cost** on the pairs both solved (at least ``MIN_COST_SAMPLES``): the exact
  sign test, two-sided the same way (ties dropped; exact whatever the ties,
  which integer HVP counts have many of).  The cost is the judge's CPU seconds
  (``judge_cpu_seconds``, measured on the worker process) when every paired
  record of both sides carries it, else HVPs (metric ``hvps``).

Family-wise error: every test performed on the leaderboard (all new methods x
references x cases x metrics) is one family, controlled at ``alpha`` by Holm's
step-down correction (:func:`harness.stats.significant`).  The verdict
of a (new, reference, case) triple is **lexicographic** (:func:`verdict_of`):

1. a significant success test decides: ``better`` / ``worse`` (for the new method);
2. else a significant correct test decides the same way;
3. else (success and correctness do not differ detectably) a significant cost
   test gives ``cheaper, same success`` / ``costlier, same success`` -- never
   ``better`` or ``worse``;
4. else ``no detectable difference``.

So a method whose success is detectably lower is ``worse`` however cheap it is,
and a cheaper method with (undetectably) fewer successes is at most "cheaper,
same success", with its success tally in the evidence.  The disagreeing runs
are the paired runs whose outcome or correctness differs; runs that only
reached a different class (same outcome, same correctness) are listed
separately as class changes.

A new result set is marked **unsandboxed** when one of its plug-in runs was
solved without an OS sandbox (record field ``sandbox == "none"``, or a plug-in
record of an older store without the field); built-in solvers (``"trusted"``)
never mark it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.gate.compare import MIN_COST_SAMPLES
from harness.leaderboard.archive import COLUMNS, read_archive
from harness.leaderboard.suite import check_stamp
from harness.run.suite import DEFAULT_SUITE, SuiteError
from harness.results.columns import COLUMNS as COLUMN_TABLE
from harness.results.columns import column, columns
from harness.scoring.summary import summarize
from harness.stats import mcnemar_greater, sign_greater, significant, two_sided, wilson_interval

__all__ = ["BETTER", "CHEAPER", "COSTLIER", "NO_DIFFERENCE", "WORSE", "CaseVerdict", "Leaderboard", "LeaderboardError", "PairedTest",
           "build_leaderboard", "ecdf_figure", "leaderboard_of", "rank_records", "format_text", "load_result_set", "to_markdown", "write_outputs"]

BETTER, WORSE, NO_DIFFERENCE = "better", "worse", "no detectable difference"
#: Cost-only verdicts: success and correctness do not differ detectably, the cost does.
CHEAPER, COSTLIER = "cheaper, same success", "costlier, same success"
#: Judge-measured cost per run (preferred over solver-reported HVPs when both sides carry it).
JUDGE_COST = "judge_cpu_seconds"
#: Fields read from a result directory.
FIELDS = tuple(dict.fromkeys((*COLUMNS, "solver_name", "solver_options", "batch_row", JUDGE_COST,
                              "judge_wall_seconds", "sandbox", "cost_source")))
#: Default family-wise error rate of the paired verdicts.
ALPHA = 0.05


class LeaderboardError(ValueError):
    """Unusable leaderboard input (one-line message)."""


# --------------------------------------------------------------------------- inputs
@dataclasses.dataclass(frozen=True)
class ResultSet:
    """The records of one result directory and its suite stamp."""

    path: Path
    records: tuple[dict[str, Any], ...]
    suite: str | None
    suite_hash: str | None


def load_result_set(directory: str | Path) -> ResultSet:
    """Records (projected on :data:`FIELDS`) and suite stamp of a result directory.

    Raises:
        StoreError / LeaderboardError: not a result directory, or no records.
    """
    from harness.results.columnar import load_columns
    from harness.results.store import check_result_dir, load_meta

    root = check_result_dir(directory)
    records = load_columns(root, FIELDS)
    if not records:
        raise LeaderboardError(f"no run records in {str(root)!r}")
    s, h = check_stamp(load_meta(root), str(root))
    return ResultSet(root, tuple(records), s, h)


def _cell(r: Mapping[str, Any]) -> tuple:
    """The cell a run belongs to, as far as pairing goes: case key, seed, budget."""
    return (r.get("case_key"), int(r["seed"]), r.get("max_iter"), r.get("tol"))


def _check_suites(sets: Sequence[ResultSet], stamp: Mapping[str, Any], allow_mixed: bool,
                  ref_records: Sequence[Mapping[str, Any]] = ()) -> list[str]:
    """Refuse result sets of another suite (or fingerprint) than the archive's; the warnings when allowed.

    A result set without a suite stamp (e.g. the default scorecard, ``results/scorecard``)
    is accepted, with a note, when its runs lie on the archive's cells (same case key,
    seed and budget); only those runs pair.  Without any such run it is refused with
    the command that makes a suite result set.
    """
    want = (stamp.get("suite"), stamp.get("suite_hash"))
    cells = {_cell(r) for r in ref_records}
    notes = []
    for rs in sets:
        if (rs.suite, rs.suite_hash) == want:
            continue
        if rs.suite is None and cells and not allow_mixed:
            on = sum(_cell(r) in cells for r in rs.records)
            if not on:
                raise SuiteError(f"{str(rs.path)!r} holds no run on the cells of suite {want[0]}: make a result set "
                                 f"with `critbench suite run --solver S --out DIR` (or pass --allow-mixed-suites)")
            off = len(rs.records) - on
            notes.append(f"{str(rs.path)!r} has no suite stamp; {on} of its runs lie on {want[0]}'s cells and are "
                         f"ranked" + (f" ({off} others are not paired)" if off else ""))
            continue
        what = ("has no suite stamp (run it with `critbench suite run`)" if rs.suite is None else
                f"was produced by suite {rs.suite} ({rs.suite_hash})")
        msg = f"{str(rs.path)!r} {what}, the reference archive by {want[0]} ({want[1]})"
        if not allow_mixed:
            raise SuiteError(msg + "; pass --allow-mixed-suites to rank them anyway")
        notes.append(msg + " (mixed suites allowed: only runs with the same case, start and budget are paired)")
    return notes


def _options_key(r: Mapping[str, Any]) -> str:
    """The solver's options as canonical JSON (its identity across cells; the budget is the cell's)."""
    import json

    from harness.results.store import json_default

    return json.dumps(r.get("solver_options") or {}, sort_keys=True, default=json_default)


def _label_new(sets: Sequence[ResultSet], taken: set[str]) -> list[dict[str, Any]]:
    """Copies of the new records whose ``solver`` is a unique label.

    A solver is identified by its name and options (not by ``solver_key``,
    which also hashes the cell's budget).  A solver named like a reference (or
    like a solver of another directory) becomes ``"<solver> (<directory
    name>)"``; one solver run with several option sets in one directory gets
    ``"<solver> [k=v, ...]"``.
    """
    out: list[dict[str, Any]] = []
    used = set(taken)
    for rs in sets:
        opts: dict[str, dict[str, Mapping[str, Any]]] = {}
        for r in rs.records:
            opts.setdefault(str(r.get("solver")), {}).setdefault(_options_key(r), r.get("solver_options") or {})
        names: dict[tuple[str, str], str] = {}
        for solver, variants in sorted(opts.items()):
            for ok, o in sorted(variants.items()):
                label = solver if len(variants) == 1 else f"{solver} [{', '.join(f'{k}={v}' for k, v in o.items())}]"
                if label in used:
                    label = f"{label} ({rs.path.name})"
                n, base = 2, label
                while label in used:
                    label, n = f"{base} #{n}", n + 1
                used.add(label)
                names[(solver, ok)] = label
        for r in rs.records:
            out.append(dict(r, solver=names[(str(r.get("solver")), _options_key(r))], solver_given=r.get("solver")))
    return out


# --------------------------------------------------------------------------- paired tests
@dataclasses.dataclass
class PairedTest:
    """One two-sided paired test: ``metric`` (success, correct, hvps or judge_cpu_seconds), counts, p-value.

    ``new_wins`` / ``ref_wins``: discordant pairs favouring the new / reference
    method (for a cost metric: pairs where it cost less); ``n``: pairs used.
    ``direction``: ``better`` / ``worse`` for the new method when significant.
    """

    metric: str
    n: int
    new_wins: int
    ref_wins: int
    p: float | None
    threshold: float | None = None
    significant: bool = False

    @property
    def direction(self) -> str | None:
        if not self.significant:
            return None
        return BETTER if self.new_wins > self.ref_wins else WORSE


    @property
    def is_cost(self) -> bool:
        return self.metric not in ("success", "correct")


@dataclasses.dataclass
class CaseVerdict:
    """A new method against one reference on one case.

    ``disagreeing``: paired runs whose outcome or correctness differs;
    ``class_changes``: paired runs with the same outcome and correctness that
    reached a different class; ``verdict``: see :func:`verdict_of`.
    """

    case: str
    case_key: str
    new: str
    ref: str
    pairs: int
    tests: list[PairedTest]
    disagreeing: list[dict[str, Any]]
    class_changes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    verdict: str = NO_DIFFERENCE
    evidence: str = ""

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for t, td in zip(self.tests, d["tests"]):
            td["direction"] = t.direction
        return d


def _pair_rows(ref: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping, Mapping]]:
    """Runs of the same start and budget: ``(seed, run_index, max_iter, tol)`` on both sides."""
    def key(r: Mapping[str, Any]) -> tuple:
        return (int(r["seed"]), int(r["run_index"]), r.get("max_iter"), r.get("tol"))

    by = {key(r): r for r in ref}
    return [(by[key(n)], n) for n in sorted(new, key=key) if key(n) in by]


def _ok(r: Mapping[str, Any]) -> bool:
    return r.get("outcome") == "critical"


def _verdict_of(r: Mapping[str, Any]) -> str:
    mark = "" if r.get("correct") is None else (" (correct)" if r.get("correct") else " (wrong)")
    return f"{r.get('outcome')}{' ' + str(r['matched_class']) if r.get('matched_class') else ''}{mark}"


def _paired(case: str, ckey: str, new: str, ref: str, pr: Sequence[tuple[Mapping, Mapping]]) -> CaseVerdict:
    rs, ns = [_ok(a) for a, _ in pr], [_ok(b) for _, b in pr]
    tests = [PairedTest("success", len(pr), sum(n and not r for r, n in zip(rs, ns)),
                        sum(r and not n for r, n in zip(rs, ns)),
                        two_sided(mcnemar_greater(rs, ns), mcnemar_greater(ns, rs)))]
    if any(a.get("correct") is not None for a, _ in pr) and any(b.get("correct") is not None for _, b in pr):
        rc, nc = [a.get("correct") is True for a, _ in pr], [b.get("correct") is True for _, b in pr]
        tests.append(PairedTest("correct", len(pr), sum(n and not r for r, n in zip(rc, nc)),
                                sum(r and not n for r, n in zip(rc, nc)),
                                two_sided(mcnemar_greater(rc, nc), mcnemar_greater(nc, rc))))
    solved = [(a, b) for a, b in pr if _ok(a) and _ok(b)]
    metric = JUDGE_COST if solved and all(x.get(JUDGE_COST) is not None for ab in solved for x in ab) else "hvps"
    both = [(float(a.get(metric) or 0), float(b.get(metric) or 0)) for a, b in solved]
    if len(both) >= MIN_COST_SAMPLES:
        hr, hn = [x for x, _ in both], [y for _, y in both]
        tests.append(PairedTest(metric, len(both), sum(y < x for x, y in both), sum(y > x for x, y in both),
                                two_sided(sign_greater(hr, hn), sign_greater(hn, hr))))
    else:
        tests.append(PairedTest(metric, len(both), 0, 0, None))

    def row(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
        return {"seed": int(a["seed"]), "run_index": int(a["run_index"]), "ref": _verdict_of(a), "new": _verdict_of(b),
                "ref_run_id": a.get("run_id"), "new_run_id": b.get("run_id")}

    dis = [row(a, b) for a, b in pr if (a.get("outcome"), a.get("correct")) != (b.get("outcome"), b.get("correct"))]
    moved = [row(a, b) for a, b in pr if (a.get("outcome"), a.get("correct")) == (b.get("outcome"), b.get("correct"))
             and a.get("matched_class") != b.get("matched_class")]
    return CaseVerdict(case, ckey, new, ref, len(pr), tests, dis, moved)


def _evidence(t: PairedTest) -> str:
    what = {"hvps": "HVPs", JUDGE_COST: "judge CPU s"}.get(t.metric, t.metric)
    if t.is_cost and t.significant:
        word = "cheaper" if t.new_wins > t.ref_wins else "costlier"
    else:
        word = t.direction or "n.s."
    p = "" if t.p is None else f", p={t.p:.2g}"
    return f"{what} {word} ({t.new_wins} vs {t.ref_wins} of {t.n} pairs{p})"


def verdict_of(tests: Sequence[PairedTest]) -> tuple[str, str]:
    """The lexicographic verdict and its evidence from a triple's tests (significance already set).

    Success decides when its test is significant, else correctness; only when
    neither differs detectably does a significant cost test speak, and then as
    ``cheaper, same success`` / ``costlier, same success``, never ``better`` /
    ``worse``.  The evidence names the deciding test and, for a cost verdict,
    the (non-significant) success and correct tallies beside it when any pair differs.
    """
    quality = [t for t in tests if not t.is_cost]
    for t in quality:
        if t.significant and t.direction:
            return t.direction, "; ".join([_evidence(t), *(_evidence(x) for x in tests if x.significant and x is not t)])
    cost = next((t for t in tests if t.is_cost and t.significant), None)
    if cost is None:
        return NO_DIFFERENCE, ""
    verdict = CHEAPER if cost.new_wins > cost.ref_wins else COSTLIER
    return verdict, "; ".join([_evidence(cost), *(_evidence(t) for t in quality if t.new_wins + t.ref_wins)])


# --------------------------------------------------------------------------- the leaderboard
@dataclasses.dataclass
class Leaderboard:
    """Everything ``critbench leaderboard`` prints and writes.

    Attributes:
        rows: :func:`harness.scoring.summary.summarize` rows of every (case, solver), plus ``rank`` within the case.
        overall: one row per solver (sums over its cells, Wilson intervals, mean rank), ranked.
        verdicts: one :class:`CaseVerdict` per (new, reference, case).
        new_solvers, ref_solvers: labels; alpha: family-wise error rate (Holm); n_tests: tests performed.
        stamp: the archive's stamp (suite, versions, commit); notes: warnings (mixed suites).
        records: every record (new labelled), for figures and the site.
        unsandboxed: new solvers with a plug-in run solved without an OS sandbox (:func:`unsandboxed`).
    """

    rows: list[dict[str, Any]]
    overall: list[dict[str, Any]]
    verdicts: list[CaseVerdict]
    new_solvers: list[str]
    ref_solvers: list[str]
    alpha: float
    n_tests: int
    stamp: dict[str, Any]
    notes: list[str]
    records: list[dict[str, Any]] = dataclasses.field(repr=False, default_factory=list)
    sources: list[str] = dataclasses.field(default_factory=list)
    unsandboxed: list[str] = dataclasses.field(default_factory=list)

    def cases(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys((r["case"], r["case_key"]) for r in self.rows))

    def to_json(self) -> dict[str, Any]:
        return {"format": "critbench-leaderboard/1", "suite": self.stamp.get("suite"),
                "suite_hash": self.stamp.get("suite_hash"), "reference_archive": self.stamp, "sources": self.sources,
                "alpha": self.alpha, "correction": "holm", "n_tests": self.n_tests, "notes": self.notes,
                "new_solvers": self.new_solvers, "reference_solvers": self.ref_solvers, "overall": self.overall,
                "cases": self.rows, "verdicts": [v.to_json() for v in self.verdicts], "unsandboxed": self.unsandboxed}


def unsandboxed(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Labels (``solver``) whose runs include a plug-in run without an OS sandbox, in first-seen order.

    A record counts when its ``sandbox`` is ``"none"``, or when it has no
    ``sandbox`` field (an older store) and its solver (``solver_given``, as
    given) is not a built-in one; ``"bwrap"`` and ``"trusted"`` never count.
    """
    from harness.solvers.registry import SOLVERS

    out: dict[str, None] = {}
    for r in records:
        box = r.get("sandbox")
        given = str(r.get("solver_given") or r.get("solver"))
        if box == "none" or (box is None and not SOLVERS.is_builtin(given)):
            out[str(r.get("solver"))] = None
    return list(out)


def _rank_key(row: Mapping[str, Any]) -> tuple:
    hps = row.get("hvps_per_success")
    return (-row["success_fraction"], -(row.get("correct_fraction") or 0.0), math.inf if hps is None else hps,
            str(row["solver"]))


def _overall(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    by: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by.setdefault(str(r["solver"]), []).append(r)
    out = []
    for solver, rs in by.items():
        n = sum(r["runs"] for r in rs)
        k = sum(r["successes"] for r in rs)
        ver = sum(r["verified"] or 0 for r in rs)
        cor = sum(r["correct"] or 0 for r in rs)
        hvps = sum(_total_hvps(r) for r in rs)
        out.append({
            "solver": solver, "cells": len(rs), "runs": n, "successes": k, "success_fraction": k / n,
            "_cells": rs,
            "success_ci": wilson_interval(k, n), "verified": ver, "correct": cor,
            "correct_fraction": cor / ver if ver else None, "correct_ci": wilson_interval(cor, ver) if ver else None,
            "gradient_flat": sum(r["gradient_flat"] for r in rs),
            "gradient_flat_ever": sum(r["gradient_flat_ever"] for r in rs),
            "hvps_per_success": hvps / k if k else None, "ert_hvps": hvps / k if k else None,
            "mean_rank": float(np.mean([r["rank"] for r in rs])),
        })
    def quality(o: Mapping[str, Any]) -> tuple:
        return (-o["cells"], -o["success_fraction"], -(o["correct_fraction"] or 0.0))

    groups: dict[tuple, list[dict[str, Any]]] = {}
    for o in out:
        groups.setdefault(quality(o), []).append(o)
    for group in groups.values():
        _common_cost(group)
    out.sort(key=lambda o: (*quality(o), math.inf if o["cost_common"] is None else o["cost_common"], o["solver"]))
    for i, o in enumerate(out, 1):
        o["rank"] = i
        del o["_cells"]
    return out


def _common_cost(group: Sequence[dict[str, Any]]) -> None:
    """Set ``cost_common`` (geometric mean cost per success), ``cost_metric`` and ``common_cells`` of tied solvers.

    The cells are those that every solver of the group solved at least once; the
    cost is judge-measured CPU seconds per success when every one of those rows
    has it, else HVPs per success.  ``None`` when the group shares no solved cell.
    """
    def cells(o: Mapping[str, Any]) -> dict[tuple, Mapping[str, Any]]:
        return {(r["case"], r["case_key"]): r for r in o["_cells"] if r["successes"]}

    per = [cells(o) for o in group]
    common = set(per[0]).intersection(*per[1:]) if per else set()
    judged = bool(common) and all(c[k].get("_judged") for c in per for k in common)
    for o, c in zip(group, per):
        o["common_cells"] = len(common)
        o["cost_metric"] = JUDGE_COST if judged else "hvps"
        if not common:
            o["cost_common"] = None
            continue
        total = "_total_judge" if judged else "_total_hvps"
        vals = [max(float(c[k].get(total, 0.0)) / c[k]["successes"], 1e-300) for k in sorted(common, key=str)]
        o["cost_common"] = float(np.exp(np.mean(np.log(vals))))


def _total_hvps(row: Mapping[str, Any]) -> float:
    return float(row.get("_total_hvps", 0.0))


def build_leaderboard(
    result_dirs: Iterable[str | Path],
    *,
    archive: str | Path | None = None,
    suite: str | None = None,
    alpha: float = ALPHA,
    allow_mixed: bool = False,
) -> Leaderboard:
    """Merge result directories with the reference archive, rank, and test every (new, reference) pair.

    Args:
        result_dirs: result directories of the new methods (at least one).
        archive: the reference archive (default: the committed one of ``suite``).
        suite: suite name (default: the result sets' stamp, else ``standard-v1``).
        alpha: family-wise error rate of the paired verdicts, in (0, 1) (Holm).
        allow_mixed: rank result sets of another suite than the archive's (with a note) instead of refusing.

    Raises:
        LeaderboardError, SuiteError, ArchiveError, StoreError: bad input (one-line messages).
    """
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise LeaderboardError(f"alpha must be in (0, 1), got {alpha!r}")
    seen: dict[Path, str] = {}
    for d in result_dirs:
        key = Path(d).resolve()
        if key in seen:
            raise LeaderboardError(f"result directory {str(d)!r} is given twice (also as {seen[key]!r})")
        seen[key] = str(d)
    sets = [load_result_set(d) for d in result_dirs]
    if not sets:
        raise LeaderboardError("give at least one result directory of a new method")
    name = suite or next((s.suite for s in sets if s.suite), None) or "standard-v1"
    ref_records, stamp = read_archive(archive, suite=name)
    notes = _check_suites(sets, stamp, allow_mixed, ref_records)
    refs = {str(r["solver"]) for r in ref_records}
    return rank_records(ref_records, stamp, _label_new(sets, refs), alpha=alpha, notes=notes,
                        sources=[str(s.path) for s in sets])


def leaderboard_of(
    result_dirs: Sequence[str | Path],
    *,
    archive: str | Path | None = None,
    suite: str | None = None,
    alpha: float = ALPHA,
    allow_mixed: bool = False,
) -> Leaderboard:
    """:func:`build_leaderboard` of ``result_dirs``; with none, the archive's own board (rankings, no verdicts).

    ``critbench leaderboard`` and ``critbench site`` both show this board.
    """
    if result_dirs:
        return build_leaderboard(result_dirs, archive=archive, suite=suite, alpha=alpha, allow_mixed=allow_mixed)
    recs, stamp = read_archive(archive, suite=suite or DEFAULT_SUITE)
    return rank_records(recs, stamp, alpha=alpha)


def rank_records(
    ref_records: Sequence[Mapping[str, Any]],
    stamp: Mapping[str, Any],
    new_records: Sequence[Mapping[str, Any]] = (),
    *,
    alpha: float = ALPHA,
    notes: Sequence[str] = (),
    sources: Sequence[str] = (),
) -> Leaderboard:
    """The leaderboard of reference records and (uniquely labelled) new records: rows, ranks, verdicts."""
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise LeaderboardError(f"alpha must be in (0, 1), got {alpha!r}")
    refs = sorted({str(r["solver"]) for r in ref_records})
    clash = refs and {str(r["solver"]) for r in new_records} & set(refs)
    if clash:
        raise LeaderboardError(f"new records may not be labelled like a reference: {', '.join(sorted(clash))}")
    news = list(dict.fromkeys(str(r["solver"]) for r in new_records))
    records = [dict(r) for r in ref_records] + [dict(r) for r in new_records]

    rows = summarize(records)
    totals: dict[tuple, list[float]] = {}
    for r in records:
        k = (r.get("case"), r.get("case_key"), r.get("solver"), r.get("solver_key"))
        t = totals.setdefault(k, [0.0, 0.0, 1.0])
        t[0] += float(r.get("hvps") or 0)
        if r.get(JUDGE_COST) is None:
            t[2] = 0.0
        else:
            t[1] += float(r[JUDGE_COST])
    for row in rows:
        hv, judge, judged = totals.get((row["case"], row["case_key"], row["solver"], row["solver_key"]), (0.0, 0.0, 0))
        row["_total_hvps"], row["_total_judge"], row["_judged"] = hv, judge, bool(judged)
        row["reference"] = row["solver"] in refs
    by_case: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        by_case.setdefault((row["case"], row["case_key"]), []).append(row)
    ordered = []
    for key in sorted(by_case, key=lambda k: (str(k[0]), str(k[1]))):
        for i, row in enumerate(sorted(by_case[key], key=_rank_key), 1):
            row["rank"] = i
            ordered.append(row)
    overall = _overall(ordered)
    for row in ordered:
        for k in ("_total_hvps", "_total_judge", "_judged"):
            row.pop(k, None)

    cell: dict[tuple, list[dict[str, Any]]] = {}
    for r in records:
        cell.setdefault((str(r["solver"]), r.get("case"), r.get("case_key")), []).append(r)
    verdicts = []
    for n in news:
        for ref in refs:
            for case, ckey in by_case:
                a, b = cell.get((ref, case, ckey)), cell.get((n, case, ckey))
                if not a or not b:
                    continue
                pr = _pair_rows(a, b)
                if pr:
                    verdicts.append(_paired(str(case), str(ckey), n, ref, pr))
    performed = [t for v in verdicts for t in v.tests if t.p is not None]
    rej, thr = significant([float(t.p) for t in performed], float(alpha), "holm") if performed else ([], [])
    for t, sig, th in zip(performed, rej, thr):
        t.significant, t.threshold = bool(sig), th
    for v in verdicts:
        v.verdict, v.evidence = verdict_of(v.tests)
    return Leaderboard(ordered, overall, verdicts, news, refs, float(alpha), len(performed), dict(stamp), list(notes),
                       records, list(sources), unsandboxed(new_records))


# --------------------------------------------------------------------------- output
#: Columns of the terminal tables without ``--wide`` (:func:`format_text`); the site and markdown show all.
#: The ranked tables' columns are :data:`harness.results.columns.COLUMNS` (named here by key).
COMPACT = {
    "overall": tuple(column(k).short for k in ("rank", "solver", "runs", "success", "correct", "hvps_per_success",
                                                "vs_references")),
    "case": tuple(column(k).short for k in ("rank", "solver", "runs", "success", "correct", "hvps_per_success")),
    "verdict": ("new", "reference", "case", "verdict", "evidence", "disagreeing runs (index)"),
}
#: Text columns (wrapped at spaces); every other column holds numbers and is never broken.
TEXT_COLUMNS = (*(c.short for c in COLUMN_TABLE if c.wrap), "new", "reference", "verdict", "evidence",
                "disagreeing runs (index)")


def compact(head: Sequence[str], body: Sequence[Sequence[str]], keep: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """The columns of ``(head, body)`` named in ``keep`` (in ``head``'s order)."""
    idx = [j for j, h in enumerate(head) if h in keep]
    return [head[j] for j in idx], [[row[j] for j in idx] for row in body]


def overall_table(lb: Leaderboard) -> tuple[list[str], list[list[str]]]:
    """The ``leaderboard-overall`` columns of :data:`harness.results.columns.COLUMNS`, one row per solver."""
    cols = columns("leaderboard-overall")
    body = []
    for o in lb.overall:
        vs = [v for v in lb.verdicts if v.new == o["solver"]]
        row = dict(o, vs_references=verdict_tally(vs) if vs else "reference")
        body.append([c.text(row) for c in cols])
    return [c.short for c in cols], body


def verdict_tally(vs: Sequence[CaseVerdict]) -> str:
    """``"b better / w worse / c cheaper / k costlier / n n.d."`` (cost-only counts shown when non-zero)."""
    n = {k: sum(v.verdict == k for v in vs) for k in (BETTER, WORSE, CHEAPER, COSTLIER, NO_DIFFERENCE)}
    parts = [f"{n[BETTER]} better", f"{n[WORSE]} worse"]
    parts += [f"{n[k]} {k.split(',')[0]}" for k in (CHEAPER, COSTLIER) if n[k]]
    return " / ".join([*parts, f"{n[NO_DIFFERENCE]} n.d."])


def case_table(lb: Leaderboard, case: str, ckey: str) -> tuple[list[str], list[list[str]]]:
    """The ``leaderboard-case`` columns of :data:`harness.results.columns.COLUMNS`, one row per solver of the case."""
    cols = columns("leaderboard-case")
    body = [[c.text(r) for c in cols] for r in lb.rows if (r["case"], r["case_key"]) == (case, ckey)]
    return [c.short for c in cols], body


def verdict_table(lb: Leaderboard, new: str | None = None, case: str | None = None,
                  limit: int = 10) -> tuple[list[str], list[list[str]]]:
    head = ["new", "reference", "case", "pairs", "verdict", "evidence", "disagreeing runs (index)"]
    body = []
    for v in lb.verdicts:
        if (new is not None and v.new != new) or (case is not None and v.case != case):
            continue
        idx = [str(d["run_index"]) for d in v.disagreeing]
        more = f" (+{len(idx) - limit})" if len(idx) > limit else ""
        body.append([v.new, v.ref, v.case, str(v.pairs), v.verdict, v.evidence or "-",
                     (", ".join(idx[:limit]) + more) or "none"])
    return head, body


def _md(head: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(esc, head)) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(map(esc, row)) + " |" for row in body]
    return "\n".join(lines)


def platform_text(p: Mapping[str, Any] | None) -> str:
    """The archive's platform in one phrase (``"not recorded"`` for older archives)."""
    if not p:
        return "not recorded"
    flags = ",".join(p.get("cpu_flags") or []) or "none"
    return (f"{p.get('cpu_model')} ({p.get('machine')}, SIMD {flags}), jaxlib {p.get('jaxlib')}, "
            f"XLA_FLAGS {p.get('xla_flags') or 'unset'}")


def to_markdown(lb: Leaderboard) -> str:
    """The leaderboard as markdown: overall ranking, one table per case, the paired verdicts."""
    s = lb.stamp
    out = [f"# critbench leaderboard: {s.get('suite')} ({s.get('suite_hash')})", "",
           f"References from the archive (critbench {s.get('critbench')}, commit {s.get('git_commit')}, "
           f"JAX {s.get('jax')}, {s.get('created')}; platform: {platform_text(s.get('platform'))}); new methods (*) "
           f"from {', '.join(lb.sources)}.", ""]
    out += [f"> note: {n}" for n in lb.notes]
    out += [f"> unsandboxed: {u} (a plug-in run was solved without an OS sandbox)" for u in lb.unsandboxed]
    out += ["## Overall", "", _md(*overall_table(lb)), ""]
    for case, ckey in lb.cases():
        out += [f"## {case} (`{ckey}`)", "", _md(*case_table(lb, case, ckey)), ""]
    out += ["## Paired verdicts (same starts)", "",
            f"Two-sided exact McNemar (success, correct) and sign tests (HVPs, runs both solved); {lb.n_tests} tests, "
            f"family-wise alpha = {lb.alpha:g} (Holm).", "", _md(*verdict_table(lb)), ""]
    return "\n".join(out)


def format_text(lb: Leaderboard, wide: bool = False, width: int | None = None) -> None:
    """Print the overall ranking, the per-case rankings and the verdicts as tables that fit the terminal.

    Without ``wide`` the tables show :data:`COMPACT`'s columns and fit ``width``
    (default :func:`harness._terminal.terminal_width`: the terminal, ``COLUMNS``,
    else 100); numbers are never cut.  ``wide`` shows every column.
    """
    from harness._terminal import print_table

    def show(title: str, kind: str, head: Sequence[str], body: Sequence[Sequence[str]]) -> None:
        if not wide:
            head, body = compact(head, body, COMPACT[kind])
        print_table(head, body, title=title, width=width, atomic=[j for j, h in enumerate(head) if h not in TEXT_COLUMNS])

    import textwrap

    from harness._terminal import terminal_width

    lines = [f"note: {n}" for n in lb.notes]
    lines += [f"unsandboxed: {u} (a plug-in run was solved without an OS sandbox)" for u in lb.unsandboxed]
    for line in lines:
        print(textwrap.fill(line, width or terminal_width(), subsequent_indent="  "))
    show(f"leaderboard {lb.stamp.get('suite')} ({lb.stamp.get('suite_hash')}): overall", "overall", *overall_table(lb))
    for case, ckey in lb.cases():
        show(f"{case} ({ckey})", "case", *case_table(lb, case, ckey))
    if not lb.verdicts:
        print(textwrap.fill("paired verdicts: none (no new method on common starts; make one with `critbench suite "
                            "run --solver S --out DIR`, then `critbench leaderboard DIR`)", width or terminal_width()))
        return
    show(f"paired verdicts: {lb.n_tests} tests, family-wise alpha {lb.alpha:g} (Holm)", "verdict", *verdict_table(lb))


def ecdf_figure(lb: Leaderboard) -> Any:
    """COCO-style ECDF: fraction of a solver's runs (over all its suite cells) solved within ``x`` HVPs.

    Each solver's curve is the empirical distribution of HVPs-to-success over
    every run of the suite, normalised by its number of runs, so it plateaus at
    its overall success fraction (unsuccessful runs never reach a target).
    """
    from matplotlib.figure import Figure

    from harness.report import plot_ecdf, solver_colors

    solvers = [o["solver"] for o in lb.overall]
    colors = solver_colors(solvers)
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    for s in solvers:
        recs = [r for r in lb.records if r.get("solver") == s]
        vals = np.array([max(float(r.get("hvps") or 0), 1.0) for r in recs if _ok(r)])
        plot_ecdf(ax, vals, len(recs), s + ("" if s in lb.ref_solvers else " (new)"), colors[s])
    ax.set_xscale("log")
    ax.set_xlabel("Hessian-vector products to success (at least 1)")
    ax.set_ylabel("fraction of runs solved")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{lb.stamp.get('suite')}: HVPs to success, all cells", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def write_outputs(lb: Leaderboard, out_dir: str | Path) -> dict[str, Path]:
    """Write ``leaderboard.json``, ``leaderboard.md`` and ``hvps_ecdf.png`` under ``out_dir``."""
    import json

    from harness.results.store import json_default

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "leaderboard.json", "markdown": out / "leaderboard.md", "ecdf": out / "hvps_ecdf.png"}
    paths["json"].write_text(json.dumps(lb.to_json(), indent=1, default=json_default))
    paths["markdown"].write_text(to_markdown(lb))
    ecdf_figure(lb).savefig(paths["ecdf"], format="png", dpi=90, bbox_inches="tight")
    return paths
