"""standard-v1 and the committed reference archive."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from harness.leaderboard.archive import COLUMNS, archive_path, read_archive, write_archive
from harness.leaderboard.suite import get_suite, run_suite_for
from harness.run.suite import SCORECARD_CASES_AFTER_V1, STANDARD_V1, STANDARD_V2, SuiteError, default_specs, suite_hash
from tests.leaderboard._synth import TOY, TOY_V2, pattern, records, write_set


def _cell(s):
    return (s.case, repr(sorted(s.case_params.items())), s.solver, s.runs, s.max_iter, s.seed, s.tol)


def test_standard_v1_is_the_default_scorecard() -> None:
    """v1 is frozen: the scorecard's cells without the cases added after it (relu-teacher-student)."""
    later = [s for s in default_specs() if s.case in SCORECARD_CASES_AFTER_V1]
    assert {s.case for s in later} == SCORECARD_CASES_AFTER_V1
    assert not {c.case for c in STANDARD_V1.cells} & SCORECARD_CASES_AFTER_V1
    v1 = [s for s in default_specs() if s.case not in SCORECARD_CASES_AFTER_V1]
    assert sorted(map(_cell, STANDARD_V1.reference_specs())) == sorted(map(_cell, v1))
    assert get_suite("standard-v1") is STANDARD_V1
    with pytest.raises(SuiteError, match="unknown suite"):
        get_suite("standard-v0")


def test_standard_v2_is_the_default_scorecard_and_extends_v1() -> None:
    assert sorted(map(_cell, STANDARD_V2.reference_specs())) == sorted(map(_cell, default_specs()))
    assert STANDARD_V2.cells[:len(STANDARD_V1.cells)] == STANDARD_V1.cells and get_suite("standard-v2") is STANDARD_V2
    assert {c.case for c in STANDARD_V2.cells[len(STANDARD_V1.cells):]} == SCORECARD_CASES_AFTER_V1
    assert STANDARD_V2.hash != STANDARD_V1.hash


def test_committed_archive_covers_standard_v2() -> None:
    path = archive_path("standard-v2")
    assert path.is_file() and path.stat().st_size < 3 << 20
    recs, stamp = read_archive(suite="standard-v2")
    assert (stamp["suite"], stamp["suite_hash"]) == ("standard-v2", STANDARD_V2.hash)
    want = Counter((s.case, s.solver) for s in STANDARD_V2.reference_specs() for _ in range(s.runs))
    assert Counter((r["case"], r["solver"]) for r in recs) == want


def test_suite_hash_changes_with_any_cell() -> None:
    import dataclasses

    changed = dataclasses.replace(STANDARD_V1, cells=STANDARD_V1.cells[:-1] + (
        dataclasses.replace(STANDARD_V1.cells[-1], runs=21),))
    assert suite_hash(changed) != STANDARD_V1.hash
    assert STANDARD_V1.hash == suite_hash(STANDARD_V1)


def test_committed_archive_covers_standard_v1() -> None:
    path = archive_path("standard-v1")
    assert path.is_file() and path.stat().st_size < 3 << 20
    recs, stamp = read_archive()
    assert (stamp["suite"], stamp["suite_hash"]) == ("standard-v1", STANDARD_V1.hash)
    for key in ("critbench", "jax", "numpy", "git_commit", "command", "created"):
        assert stamp.get(key), key
    want = Counter((s.case, s.solver) for s in STANDARD_V1.reference_specs() for _ in range(s.runs))
    assert Counter((r["case"], r["solver"]) for r in recs) == want
    assert set(COLUMNS) <= set(recs[0])
    assert all(r["max_iter"] == next(c.max_iter for c in STANDARD_V1.cells if c.case == r["case"]) for r in recs)


def test_archive_round_trip(tmp_path: Path) -> None:
    recs = records("ref-a", "quartic", pattern(5, 7))
    p = write_archive(recs, tmp_path / "a.parquet", suite=TOY, critbench="x")
    back, stamp = read_archive(p)
    assert stamp["suite_hash"] == TOY.hash and stamp["runs"] == 7
    for a, b in zip(recs, back):
        assert {k: a.get(k) for k in COLUMNS} == {k: b.get(k) for k in COLUMNS}


def test_suite_run_refuses_a_directory_of_another_suite(tmp_path: Path) -> None:
    d = write_set(tmp_path / "d", records("x", "quartic", pattern(3, 3)), suite=TOY_V2)
    with pytest.raises(SuiteError, match="toy-v2"):
        run_suite_for(TOY, "newton-mr", d)


def test_a_new_method_on_the_committed_archive_sits_beside_the_six_references(tmp_path: Path) -> None:
    """A standard-v1 result set (here: the archived newton-mr runs under a plug-in's name, i.e. an exact
    copy) gets a row beside the six references and a verdict against each on every case."""
    from harness.leaderboard import rank as lbr

    recs, _ = read_archive()
    mine = [dict(r, solver="mypkg:Finder", run_id=r["run_id"].replace("newton-mr", "mypkg.Finder"), batch_row=i)
            for i, r in enumerate(x for x in recs if x["solver"] == "newton-mr")]
    d = write_set(tmp_path / "mine", mine, suite=STANDARD_V1)
    lb = lbr.build_leaderboard([d])
    assert [o["solver"] for o in lb.overall].count("mypkg:Finder") == 1 and len(lb.overall) == 7
    assert {(v.ref, v.case) for v in lb.verdicts} == {(s.solver, s.case) for s in STANDARD_V1.reference_specs()}
    assert all(v.verdict == lbr.NO_DIFFERENCE for v in lb.verdicts if v.ref == "newton-mr")
    assert any(v.verdict == lbr.BETTER for v in lb.verdicts if v.ref == "gnm")


def test_cli_suite_run_stamps_the_result_set(tmp_path: Path, monkeypatch) -> None:
    """``critbench suite run`` runs only the given solver on every cell and stamps ``meta.json``."""
    import harness.run.suite as suite_mod
    from harness.cli import main
    from harness.results.store import load_meta, load_records

    tiny = suite_mod.Suite("tiny-v1", "one quartic cell", (suite_mod.SuiteCell("quartic", {}, 3, 30),),
                           reference_solvers=("newton-mr",))
    # registered for this test only (the registry's in-process table and cache, restored afterwards)
    monkeypatch.setattr(suite_mod.SUITES, "_registered", {})
    monkeypatch.setattr(suite_mod.SUITES, "_loaded", {})
    suite_mod.SUITES.register("tiny-v1", tiny)
    out = tmp_path / "r"
    assert main(["suite", "run", "--suite", "tiny-v1", "--solver", "examples.jax_solver:NewtonCG", "--option",
                 "cg_iters=5", "--out", str(out), "--quiet", "--compile-cache", "off"]) == 0
    recs = load_records(out)
    assert len(recs) == 3 and {r["solver"] for r in recs} == {"examples.jax_solver:NewtonCG"}
    assert recs[0]["solver_options"]["cg_iters"] == 5
    assert (load_meta(out)["suite"], load_meta(out)["suite_hash"]) == ("tiny-v1", tiny.hash)
    assert main(["suite", "run", "--suite", "standard-v1", "--solver", "newton-mr", "--out", str(out)]) == 2
