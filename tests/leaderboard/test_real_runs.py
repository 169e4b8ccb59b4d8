"""Real runs on a small DLAE cell: a solver worse by construction ranks below Newton-MR with a significant
paired verdict; an exact copy of Newton-MR under another name gets "no detectable difference".

The reference (Newton-MR) is run once into an archive of a one-cell suite; the new methods run through
``run_suite_for`` (what ``critbench suite run`` calls), and the leaderboard never reruns the reference.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.leaderboard import rank as lbr
from harness.leaderboard.archive import read_archive, write_archive
from harness.leaderboard.suite import run_suite_for
from harness.run.suite import Suite, SuiteCell
from harness.run.runner import run_suite

DLAE = Suite("dlae-test-v1", "one small DLAE cell", (SuiteCell("dlae", {"k": 6, "p": 2, "n": 500, "exact": True},
                                                               16, 60),),
             reference_solvers=("newton-mr",))


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> lbr.Leaderboard:
    tmp = tmp_path_factory.mktemp("lb-real")
    ref = run_suite(DLAE.reference_specs(), tmp / "ref")
    archive = write_archive(ref, tmp / "dlae-test-v1.parquet", suite=DLAE, critbench="test")
    run_suite_for(DLAE, "newton-mr", tmp / "maxit2", options={"maxit": 2})
    run_suite_for(DLAE, "tests.leaderboard._solvers:NewtonMRCopy", tmp / "copy")
    assert len(read_archive(archive)[0]) == 16
    return lbr.build_leaderboard([tmp / "maxit2", tmp / "copy"], archive=archive)


def test_maxit2_ranks_below_newton_mr_with_a_significant_verdict(board: lbr.Leaderboard) -> None:
    rows = {r["solver"]: r for r in board.rows}
    weak = "newton-mr (maxit2)"
    assert rows["newton-mr"]["rank"] < rows[weak]["rank"]
    assert rows["newton-mr"]["success_fraction"] > rows[weak]["success_fraction"]
    v = next(v for v in board.verdicts if (v.new, v.ref) == (weak, "newton-mr"))
    assert v.verdict == lbr.WORSE and v.tests[0].significant and v.tests[0].p < 0.01
    assert v.disagreeing and all(d["ref"].startswith("critical") for d in v.disagreeing)


def test_exact_copy_gets_no_detectable_difference(board: lbr.Leaderboard) -> None:
    copy = "tests.leaderboard._solvers:NewtonMRCopy"
    v = next(v for v in board.verdicts if (v.new, v.ref) == (copy, "newton-mr"))
    assert v.verdict == lbr.NO_DIFFERENCE and v.pairs == 16 and not v.disagreeing
    assert all(t.p in (None, 1.0) and not t.significant for t in v.tests)
