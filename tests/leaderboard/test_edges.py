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
