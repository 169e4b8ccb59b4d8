"""standard-v1 and the committed reference archive."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from harness.leaderboard.archive import COLUMNS, archive_path, read_archive, write_archive
from harness.leaderboard.suite import STANDARD_V1, SuiteError, get_suite, run_suite_for, suite_hash
from harness.run.suite import default_specs
from tests.leaderboard._synth import TOY, TOY_V2, pattern, records, write_set


def _cell(s):
    return (s.case, repr(sorted(s.case_params.items())), s.solver, s.runs, s.max_iter, s.seed, s.tol)


def test_standard_v1_is_the_default_scorecard() -> None:
    assert sorted(map(_cell, STANDARD_V1.reference_specs())) == sorted(map(_cell, default_specs()))
    assert get_suite("standard-v1") is STANDARD_V1
    with pytest.raises(SuiteError, match="unknown suite"):
        get_suite("standard-v0")


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
