"""``critbench reproduce``: the quick pipeline writes its pages, and their numbers are the harness's own.

Sizes are shrunk (monkeypatched) so the test stays cheap; the numbers on each
page are checked against an independent recomputation from the stored run
records and arrays (not against the experiment code's own arithmetic).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.reproduce import experiments, reproduce
from harness.results.store import load_arrays, load_records


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harness.reproduce import _cooper_growth, locus, quartic

    mp = pytest.MonkeyPatch()
    mp.setitem(_cooper_growth.WIDTHS, "quick", (5,))
    mp.setitem(_cooper_growth.POINTS, "quick", 1)
    mp.setattr(_cooper_growth, "SPAN_POINTS", 60)
    mp.setitem(quartic.GRID, "quick", 5)
    mp.setitem(quartic.ITERS, "quick", 40)
    mp.setitem(quartic.STEPS, "quick", 10)
    mp.setitem(locus.LOCUS_POINTS, "quick", 1)
    mp.setattr(locus, "DEGENERATE", (((2, 3, 3, 3, 2), 3, "tanh"),))
    mp.setitem(locus.REGRESSION, "quick", ({"widths": (2, 4, 1), "n": 5}, 4))
    root = tmp_path_factory.mktemp("reproduce")
    try:
        reproduce(["fig-3.5", "cooper-locus"], "quick", root)
    finally:
        mp.undo()
    return root


def test_pages_and_summaries_are_written(out: Path) -> None:
    for name in ("fig-3.5", "cooper-locus"):
        html = (out / name / "index.html").read_text()
        md = (out / name / "summary.md").read_text()
        assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html
        assert "| quantity | ours | published | difference | likely reason |" in md
        assert f"Command: `critbench reproduce {name} --quick`" in md
        assert (out / name / "fig-1.png").read_bytes().startswith(b"\x89PNG")
    assert "[fig-3.5](fig-3.5/summary.md)" in (out / "index.md").read_text()


def test_quartic_numbers_are_recomputed_from_the_store(out: Path) -> None:
    nums = json.loads((out / "fig-3.5" / "summary.json").read_text())["numbers"]
    quartic = [r for r in load_records(out / "runs") if r["case"] == "quartic"]
    recs = [r for r in quartic if r["max_iter"] == 40]  # the grid (the fixture's ITERS)
    assert len(recs) == nums["starts"] == 25
    # the drawn trajectories' starts also ran through the harness (STEPS iterations): the check's reference
    assert len([r for r in quartic if r["max_iter"] == 10]) == 7
    left = crit_left = flat = 0
    for r in recs:
        arrs = load_arrays(out / "runs", r["batch_id"])
        x0, th = arrs["theta0"][r["batch_row"]], arrs["theta"][r["batch_row"]]
        at_crit = np.hypot(th[0] + 3, th[1]) < 1e-3
        left += x0[0] < -math.sqrt(2)
        crit_left += bool(x0[0] < -math.sqrt(2) and at_crit)
        flat += bool(np.hypot(th[0] - math.sqrt(2), th[1]) < 0.05)
        if at_crit:  # the harness's own score agrees: certified minimum, gradient below 1e-10
            assert r["outcome"] == "critical" and r["correct"] is True
    assert (nums["left_starts"], nums["left_to_critical"], nums["caught_at_flat"]) == (left, crit_left, flat)
    assert crit_left == left  # thesis: every start with x0 < -sqrt(2) reaches (-3, 0)
    if flat:
        assert abs(nums["plateau_median"] - (9 - 4 * math.sqrt(2)) ** 2) < 1e-3
    assert nums["trajectory_step_vs_call_max_diff"] < 1e-8


def test_locus_numbers_are_the_harness_records(out: Path) -> None:
    nums = json.loads((out / "cooper-locus" / "summary.json").read_text())["numbers"]
    recs = [r for r in load_records(out / "runs") if r["case"] == "overparam-regression"]
    d = 2 * 4 + 4 + 4 + 1
    assert nums["regression"]["d"] == d and nums["runs"] == len(recs) == 4
    zero = [r for r in recs if r["final_loss"] < 1e-12]
    assert nums["zero_loss_runs"] == len(zero)
    assert nums["nullity_equals_d_minus_n"] == sum(r["nullity"] == d - 5 for r in zero)
    assert nums["locus_points_ok"] == nums["locus_points"] == 1


def test_rerun_resumes_without_new_runs(out: Path) -> None:
    before = len(load_records(out / "runs"))
    from harness.reproduce import quartic

    mp = pytest.MonkeyPatch()
    mp.setitem(quartic.GRID, "quick", 5)
    mp.setitem(quartic.ITERS, "quick", 40)
    mp.setitem(quartic.STEPS, "quick", 10)
    try:
        reproduce(["fig-3.5"], "quick", out)
    finally:
        mp.undo()
    assert len(load_records(out / "runs")) == before


def test_cli_list_and_bad_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in experiments())
    assert len(experiments()) == 11
    assert main(["reproduce", "no-such-experiment"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("critbench: error: unknown experiment") and "\n" not in err


def test_publish_copies_summaries_and_rewrites_the_readme_table(out: Path, tmp_path: Path) -> None:
    """``python -m harness.reproduce.publish``: summaries (not runs) copied, both tables generated from them."""
    from harness.reproduce._page import _md_cell
    from harness.reproduce.publish import BEGIN, END
    from harness.reproduce.publish import main as publish_main

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nbefore\n{BEGIN}\nstale table\n{END}\nafter\n", encoding="utf-8")
    docs = tmp_path / "docs" / "results"
    assert publish_main([str(out), "--docs", str(docs), "--readme", str(readme)]) == 0
    assert sorted(p.name for p in docs.iterdir() if p.is_dir()) == ["cooper-locus", "fig-3.5"]
    assert not any(p.suffix in (".jsonl", ".npz", ".html") for p in docs.rglob("*"))
    text = readme.read_text(encoding="utf-8")
    assert "stale table" not in text and text.startswith("# x\n\nbefore\n") and text.endswith(f"{END}\nafter\n")
    s = json.loads((docs / "fig-3.5" / "summary.json").read_text(encoding="utf-8"))
    published = [row for row in s["comparisons"] if row[2] not in ("–", "")]
    assert published and all(f"| {_md_cell(row[1])} | {_md_cell(row[2])} |" in text for row in published)
    assert f"({docs.as_posix()}/fig-3.5/summary.md)" in text
    assert (docs / "README.md").read_text(encoding="utf-8").count("`critbench reproduce fig-3.5 --quick`") == len(
        published)
    bare = tmp_path / "bare.md"
    bare.write_text("no markers\n", encoding="utf-8")
    assert publish_main([str(out), "--docs", str(docs), "--readme", str(bare)]) == 2
    assert publish_main([str(tmp_path / "nothing"), "--docs", str(docs), "--readme", ""]) == 2


def test_quick_pages_are_titled_quick_and_never_reproduced(out: Path) -> None:
    """A quick run is a small instance with few runs: its pages say so, and no verdict reads "reproduced"."""
    for name in ("fig-3.5", "cooper-locus"):
        s = json.loads((out / name / "summary.json").read_text())
        assert s["title"].startswith("quick") and s["quick"] is True
        assert (out / name / "summary.md").read_text().startswith("# quick: ")
        verdicts = [r["verdict"] for r in s["rows"] if r["published"] not in ("–", "")]
        assert verdicts and all(v.startswith("quick: ") for v in verdicts)
        assert "reproduced" not in [v.removeprefix("quick: ") for v in verdicts]
