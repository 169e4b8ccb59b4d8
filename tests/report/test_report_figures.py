"""Report figure fixes: loss-index axes ignore diverged points, the case x solver heatmap,
compact percentages, and the Fig. 3.3 cutoff analysis whenever snapshots exist."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from harness.report import render_report
from harness.report import _figures as figs
from harness.scoring.summary import summarize

from ._synthetic import CUTOFFS, make_results, write_runs


def _records(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "runs.jsonl").read_text().splitlines()]


def _rewrite(root: Path, recs: list[dict]) -> None:
    write_runs(root, recs)


def test_diverged_and_huge_losses_do_not_set_the_loss_index_axes(tmp_path: Path) -> None:
    root = make_results(tmp_path / "res")
    recs = _records(root)
    recs[0].update(outcome="diverged", final_loss=1e300)        # diverged, finite but astronomically large
    recs[1].update(outcome="other", final_loss=1e182)           # heading to divergence, not yet non-finite
    recs[2].update(final_loss=float("nan"))                     # non-finite
    n_out = 3 + sum(r["outcome"] == "diverged" for r in recs[3:])  # the synthetic plan has diverged runs too
    fig = figs.loss_index_figure(recs, "quartic")
    lo, hi = fig.axes[0].get_ylim()
    assert hi < 100 and lo > -100                               # real points span 13..25
    assert f"{n_out} diverged/non-finite/far-off left out" in fig.axes[0].get_title()
    _rewrite(root, recs)
    page = render_report(root).read_text()
    assert f"{n_out} of {len(recs)} runs (diverged, non-finite or far-off loss) left out of the axes" in page


def test_loss_index_keeps_every_point_when_nothing_diverged(tmp_path: Path) -> None:
    recs = _records(make_results(tmp_path / "res"))
    recs = [r for r in recs if r["outcome"] != "diverged"]
    kept, left_out = figs.loss_index_split(recs)
    assert left_out == 0 and len(kept) == len(recs)


def test_heatmap_precedes_the_table_with_percent_and_interval(tmp_path: Path) -> None:
    from scipy.stats import binomtest

    root = make_results(tmp_path / "res")
    page = render_report(root).read_text()
    assert page.index("success and correct fractions per case and solver") < page.index('<tr class="summary-row">')
    fig = figs.summary_heatmap(summarize(_records(root)))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    lo, hi = binomtest(2, 6).proportion_ci(method="wilson")     # solver-b: 2 of 6 critical
    assert f"33%\n[{100 * lo:.0f}–{100 * hi:.0f}]" in texts
    cells = re.findall(r'<td class="p">([^<]*)</td>', page)
    assert cells and all(re.fullmatch(r"\d+% \[\d+–\d+\]", c) for c in cells)


def test_cutoff_analysis_is_computed_whenever_snapshots_exist(tmp_path: Path) -> None:
    """``critbench report`` computes Fig. 3.3 from stored snapshots (no precomputed file)."""
    from harness.cli import main

    root = make_results(tmp_path / "res")
    reached = {}
    for npz in (root / "arrays").glob("*.npz"):
        arrs = dict(np.load(npz))
        it = arrs["snapshot_iter"]
        # snapshots at the certified minimum (-3, 0) where the run got below the cutoff, NaN elsewhere
        arrs["snapshots"] = np.where((it >= 0)[..., None], np.array([-3.0, 0.0]), np.nan)
        reached[npz.stem] = (it >= 0).sum(axis=0)
        np.savez(npz, **arrs)
    out = tmp_path / "report.html"
    assert main(["report", str(root), "--out", str(out)]) == 0  # computed in memory: nothing written into DIR
    assert not (root / "cutoff_analysis.json").exists() and not (root / "report.html").exists()
    page = out.read_text()
    assert "thesis Fig. 3.3" in page and "not available" not in page
    assert main(["report", str(root), "--out", str(out), "--save-cutoffs"]) == 0  # asked: saved in DIR
    analysis = json.loads((root / "cutoff_analysis.json").read_text())["quartic"]
    by_cut = {float(a["cutoff"]): a for a in analysis}
    for c, eps in enumerate(CUTOFFS):
        assert by_cut[eps]["n_points"] == sum(int(v[c]) for v in reached.values())
        if by_cut[eps]["n_points"]:
            assert by_cut[eps]["fraction_correct_index"] == 1.0  # (-3, 0) is the certified index-0 minimum
    assert math.isinf(min(by_cut, key=lambda k: -k))
    page = out.read_text()
    assert "thesis Fig. 3.3" in page and "not available" not in page
