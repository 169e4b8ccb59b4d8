"""Leaderboard numbers, paired verdicts and suite checks on synthetic result sets (fast, no solver runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.leaderboard import rank as lbr
from harness.leaderboard.archive import ArchiveError, read_archive
from harness.run.suite import SuiteError
from harness.results.store import load_records
from harness.scoring.summary import summarize
from tests.leaderboard._synth import TOY_V2, pattern, records, write_set, write_toy_archive

REF = (records("ref-a", "quartic", pattern(18)) + records("ref-a", "xor", pattern(10, fail="gradient-flat"))
       + records("ref-b", "quartic", pattern(5, hvps=90)) + records("ref-b", "xor", pattern(10)))


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    return write_toy_archive(tmp_path / "toy-v1.parquet", REF)


@pytest.fixture()
def new_dir(tmp_path: Path) -> Path:
    """'good' = a copy of ref-a; 'bad' solves only runs 0 and 1 of quartic."""
    recs = []
    for r in REF:
        if r["solver"] == "ref-a":
            recs.append(dict(r, solver="good", solver_key="good-1", run_id=r["run_id"].replace("ref-a", "good")))
    recs += records("bad", "quartic", pattern(2)) + records("bad", "xor", pattern(10))
    return write_set(tmp_path / "new", recs)


def _verdict(lb: lbr.Leaderboard, new: str, ref: str, case: str) -> lbr.CaseVerdict:
    return next(v for v in lb.verdicts if (v.new, v.ref, v.case) == (new, ref, case))


NUMBERS = ("runs", "successes", "success_fraction", "success_ci", "verified", "correct", "correct_fraction",
           "correct_ci", "gradient_flat", "gradient_flat_ever", "hvps_per_success", "ert_hvps", "seconds_per_success",
           "diverged", "hvps_to_success")


def test_numbers_equal_critbench_score(new_dir: Path, archive: Path, tmp_path: Path, capsys) -> None:
    assert main(["score", str(new_dir), "--json"]) == 0
    score_rows = json.loads(capsys.readouterr().out)
    assert main(["leaderboard", str(new_dir), "--archive", str(archive), "--out", str(tmp_path / "lb"), "--json"]) == 0
    lb = json.loads(capsys.readouterr().out)
    got = {(r["case"], r["solver"]): r for r in lb["cases"]}
    assert len(score_rows) == 4
    for s in score_rows:
        row = got[(s["case"], s["solver"])]
        for k in NUMBERS:
            assert row[k] == s[k], (s["case"], s["solver"], k)
    # and the references equal summarize() of the archived runs
    for s in json.loads(json.dumps(summarize(read_archive(archive)[0]))):
        row = got[(s["case"], s["solver"])]
        assert all(row[k] == s[k] for k in NUMBERS)
    for p in ("leaderboard.json", "leaderboard.md", "hvps_ecdf.png"):
        assert (tmp_path / "lb" / p).stat().st_size > 100


def test_overall_sums_over_cells(new_dir: Path, archive: Path) -> None:
    lb = lbr.build_leaderboard([new_dir], archive=archive)
    bad = next(o for o in lb.overall if o["solver"] == "bad")
    assert (bad["runs"], bad["successes"], bad["cells"]) == (40, 12, 2)
    assert bad["hvps_per_success"] == pytest.approx((12 * 30 + 28 * 90) / 12)
    ranks = [o["solver"] for o in lb.overall]
    assert ranks.index("bad") > ranks.index("ref-a")
    quartic = {r["solver"]: r["rank"] for r in lb.rows if r["case"] == "quartic"}
    assert quartic["ref-a"] < quartic["ref-b"] < quartic["bad"]


def test_paired_verdicts_and_disagreeing_runs(new_dir: Path, archive: Path) -> None:
    lb = lbr.build_leaderboard([new_dir], archive=archive)
    worse = _verdict(lb, "bad", "ref-a", "quartic")
    assert worse.verdict == lbr.WORSE
    assert [d["run_index"] for d in worse.disagreeing] == list(range(2, 18))
    succ = worse.tests[0]
    assert (succ.metric, succ.ref_wins, succ.new_wins, succ.n) == ("success", 16, 0, 20)
    assert succ.p == pytest.approx(2 * 0.5 ** 16)
    assert _verdict(lb, "good", "ref-b", "quartic").verdict == lbr.BETTER
    # an exact copy: no detectable difference anywhere, no disagreeing run
    for v in lb.verdicts:
        if (v.new, v.ref) == ("good", "ref-a"):
            assert v.verdict == lbr.NO_DIFFERENCE and not v.disagreeing
            assert all(t.p in (None, 1.0) for t in v.tests)
    # xor: same success counts, different runs -> nothing detectable at this size
    assert _verdict(lb, "bad", "ref-b", "xor").verdict == lbr.NO_DIFFERENCE


def test_holm_controls_the_whole_family(new_dir: Path, archive: Path) -> None:
    lb = lbr.build_leaderboard([new_dir], archive=archive, alpha=0.05)
    tests = sorted((t for v in lb.verdicts for t in v.tests if t.p is not None), key=lambda t: t.p)
    assert lb.n_tests == len(tests)
    m = len(tests)
    assert [t.threshold for t in tests] == pytest.approx([0.05 / (m - j) for j in range(m)])
    # a p-value between alpha/m and alpha would pass uncorrected but is not significant here
    lonely = lbr.rank_records(REF, {"suite": "toy-v1"}, records("x", "quartic", pattern(18)[:16] + [
        ("other", False, 90)] * 4), alpha=0.05)
    assert all(t.significant is False for v in lonely.verdicts for t in v.tests if t.p and t.p > 0.05 / lonely.n_tests)


def test_reference_solvers_are_never_rerun(new_dir: Path, archive: Path, tmp_path: Path, monkeypatch) -> None:
    import harness.run.execute as execute
    import harness.run.runner as runner

    def boom(*a, **k):
        raise AssertionError("a solver was run")

    for mod, name in ((runner, "run_suite"), (runner, "run_spec"), (runner, "execute"), (execute, "execute")):
        monkeypatch.setattr(mod, name, boom)
    assert main(["leaderboard", str(new_dir), "--archive", str(archive), "--out", str(tmp_path / "o")]) == 0


def test_suite_versions_are_never_mixed_silently(archive: Path, tmp_path: Path, capsys) -> None:
    other = write_set(tmp_path / "v2", records("bad", "quartic", pattern(2), max_iter=60), suite=TOY_V2)
    unstamped = write_set(tmp_path / "none", records("bad", "quartic", pattern(2), max_iter=70), suite=None)
    for d, what in ((other, "toy-v2"), (unstamped, "critbench suite run --solver S --out DIR")):
        assert main(["leaderboard", str(d), "--archive", str(archive), "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and what in err and "--allow-mixed-suites" in err
    lb = lbr.build_leaderboard([other], archive=archive, allow_mixed=True)
    assert lb.notes and "toy-v2" in lb.notes[0]
    # the v2 runs have another budget (max_iter 60): nothing pairs with the v1 archive
    assert lb.verdicts == []


def test_bad_input_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["leaderboard", str(tmp_path / "missing"), "--archive", str(tmp_path / "a.parquet")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(ArchiveError):
        read_archive(tmp_path / "junk.parquet")
    d = write_set(tmp_path / "d", records("bad", "quartic", pattern(2)))
    assert main(["leaderboard", str(d), "--archive", str(tmp_path / "junk.parquet")]) == 2
    assert "not a readable Parquet" in capsys.readouterr().err


def test_labels_never_collide_with_references(tmp_path: Path, archive: Path) -> None:
    d = write_set(tmp_path / "mine", records("ref-a", "quartic", pattern(18), skey="ref-a-other"))
    lb = lbr.build_leaderboard([d], archive=archive)
    assert lb.new_solvers == ["ref-a (mine)"]
    assert load_records(d)[0]["solver"] == "ref-a"  # the store is untouched
