"""Leaderboard and site edges a new user hits (issue 30): each of these failed before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.leaderboard import rank as lbr
from tests.leaderboard._synth import pattern, records, write_set, write_toy_archive
from tests.leaderboard.test_rank import REF


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    return write_toy_archive(tmp_path / "toy-v1.parquet", REF)


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


def test_leaderboard_without_a_directory_shows_the_references(archive: Path, tmp_path: Path, capsys) -> None:
    assert main(["leaderboard", "--archive", str(archive), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "ref-a" in out and "ref-b" in out and "reference" in out
    assert json.loads((tmp_path / "o" / "leaderboard.json").read_text())["reference_solvers"] == ["ref-a", "ref-b"]


def test_unstamped_result_set_on_the_suite_cells_is_ranked(archive: Path, tmp_path: Path, capsys) -> None:
    """The default scorecard has no suite stamp: its runs on the archive's cells are ranked, with a note."""
    d = write_set(tmp_path / "scorecard", records("newton-mr", "quartic", pattern(18)), suite=None)
    assert main(["leaderboard", str(d), "--archive", str(archive), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "no suite stamp; 20 of its runs lie on toy-v1's cells" in out.replace("\n  ", " ")
    off = write_set(tmp_path / "elsewhere", records("x", "quartic", pattern(18), max_iter=99), suite=None)
    assert main(["leaderboard", str(off), "--archive", str(archive), "--out", str(tmp_path / "o")]) == 2
    err = _one_line(capsys)
    assert "holds no run on the cells of suite toy-v1" in err and "critbench suite run" in err


def test_the_same_directory_twice_is_refused(archive: Path, tmp_path: Path, capsys) -> None:
    d = write_set(tmp_path / "new", records("bad", "quartic", pattern(2)))
    assert main(["leaderboard", str(d), str(tmp_path / "." / "new"), "--archive", str(archive),
                 "--out", str(tmp_path / "o")]) == 2
    assert "given twice" in _one_line(capsys)
    with pytest.raises(lbr.LeaderboardError, match="given twice"):
        lbr.build_leaderboard([d, d], archive=archive)


def _site(tmp_path: Path, archive: Path, *extra: str) -> int:
    return main(["site", str(tmp_path / "site"), "--archive", str(archive), "--docs-results", str(tmp_path / "none"),
                 "--asv-html", str(tmp_path / "none"), *extra])


def test_site_results_accumulate_and_a_file_is_one_line(archive: Path, tmp_path: Path, capsys) -> None:
    a = write_set(tmp_path / "a", records("alpha", "quartic", pattern(2)))
    b = write_set(tmp_path / "b", records("beta", "quartic", pattern(19)))
    assert _site(tmp_path, archive, "--results", str(a), "--results", str(b)) == 0
    lb = json.loads((tmp_path / "site" / "leaderboard.json").read_text())
    assert lb["sources"] == [str(a), str(b)] and lb["new_solvers"] == ["alpha", "beta"]
    capsys.readouterr()
    assert _site(tmp_path, archive, "--results", str(a), "--results", str(a)) == 2
    assert "given twice" in _one_line(capsys)
    (tmp_path / "file").write_text("x")
    assert main(["site", str(tmp_path / "file"), "--archive", str(archive)]) == 2
    assert "is a file" in _one_line(capsys)
    assert main(["leaderboard", "--archive", str(archive), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in _one_line(capsys)


def _traceless_set(root: Path) -> Path:
    """A result set whose solver reported no trace: only the start and the end of ``||grad L||^2`` are stored."""
    import numpy as np

    from harness.results.store import ResultStore
    from tests.leaderboard._synth import TOY

    recs = records("opaque", "quartic", pattern(2))  # n_iter 10 on the solved runs, 30 on the others
    store = ResultStore(root)
    g2 = np.full((len(recs), 31), np.nan)
    for i, r in enumerate(recs):
        g2[i, 0], g2[i, r["n_iter"]] = 10.0, 1e-12
    store.append_batch(recs, {"theta0": np.zeros((len(recs), 2)), "theta": np.ones((len(recs), 2)),
                              "grad_norm_sq": g2}, "b0")
    store.write_meta(**TOY.stamp())
    return root


def test_run_pages_say_no_trace_recorded_and_disagreeing_runs_link_to_them(archive: Path, tmp_path: Path) -> None:
    d = _traceless_set(tmp_path / "opaque")
    assert _site(tmp_path, archive, "--results", str(d), "--runs-pages") == 0
    page = (tmp_path / "site" / "runs" / "opaque" / "quartic" / "0-0.html").read_text()
    assert "no trace recorded" in page and "<polyline" not in page and "over 1 iterations" not in page
    index = (tmp_path / "site" / "index.html").read_text()
    assert '<a href="runs/opaque/quartic/0-2.html">2</a>' in index  # run 2: ref-a solved it, opaque did not
    case = (tmp_path / "site" / "cases" / "quartic.html").read_text()
    assert '<a href="../runs/opaque/quartic/0-2.html">2</a>' in case


def test_a_recorded_trace_is_drawn_over_its_iterations() -> None:
    import numpy as np

    from harness.site.build import _svg_trace

    g2 = np.array([1.0, 1e-2, 1e-4, 1e-8, np.nan, np.nan])
    svg = _svg_trace(g2, 3)
    assert "<polyline" in svg and "over 3 iterations" in svg
    assert "<polyline" in _svg_trace(np.array([1.0, 1e-12]), 1)  # one iteration: both values are the trace
    assert "no trace recorded" in _svg_trace(np.array([1.0, np.nan, np.nan, 1e-12]), 3)


def test_one_colour_per_solver_whatever_the_figure_shows() -> None:
    from harness.report import solver_colors

    a = solver_colors(["mine", "newton-mr", "pinv-newton"])
    b = solver_colors(["pinv-newton", "newton-mr"])
    c = solver_colors(["newton-mr", "zeta", "mine"])
    assert a["newton-mr"] == b["newton-mr"] == c["newton-mr"] and a["pinv-newton"] == b["pinv-newton"]
    assert a["mine"] == c["mine"] and len(set(c.values())) == 3


def test_references_board_says_how_to_get_verdicts(archive: Path, tmp_path: Path, capsys) -> None:
    assert main(["leaderboard", "--archive", str(archive), "--out", str(tmp_path / "o")]) == 0
    out = " ".join(capsys.readouterr().out.split())  # wrapped to the terminal's width
    assert "paired verdicts: none" in out and "critbench suite run" in out
