"""The HTML report: self-contained, complete, and honest about its inputs."""

from __future__ import annotations

import ast
import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from harness.report import ReportError, load_results, render_report
from harness.results.store import CUTOFF_FILE

from ._synthetic import PLAN, make_results

REPORT_DIR = Path(__file__).resolve().parents[2] / "harness" / "report"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_results(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def page(results: Path) -> str:
    out = render_report(results)
    assert out == results / "report.html"
    return out.read_text(encoding="utf-8")


def test_report_is_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<script" not in page.lower() and "<link" not in page.lower()


def test_report_has_one_row_per_case_and_solver(page: str) -> None:
    rows = re.findall(r'<tr class="summary-row">(.*?)</tr>', page)
    assert len(rows) == len(PLAN)
    for row, solver in zip(rows, PLAN):
        assert solver in row and "quartic" in row
    lo, hi = binomtest(4, 6).proportion_ci(method="wilson")
    assert f"67% [{100 * lo:.0f}–{100 * hi:.0f}]" in rows[0]  # percent with a compact Wilson interval


def test_report_embeds_png_figures(page: str) -> None:
    imgs = re.findall(r'<img[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(imgs) >= 6  # heatmap, loss-index, traces, r ECDF, HVP ECDF, cutoff reach
    for b64 in imgs:
        assert base64.b64decode(b64).startswith(b"\x89PNG")


def test_report_footer_carries_provenance(page: str) -> None:
    footer = page[page.index("<footer>"):]
    for value in ("deadbeefcafe", "0.10.2", "cpu", "critbench run --case quartic"):
        assert value in footer


def test_custom_output_path(results: Path, tmp_path: Path) -> None:
    out = render_report(results, tmp_path / "sub" / "r.html")
    assert out == tmp_path / "sub" / "r.html" and out.stat().st_size > 10_000


def test_missing_arrays_skip_plots_with_a_note(tmp_path: Path) -> None:
    root = make_results(tmp_path / "res")
    for f in (root / "arrays").iterdir():
        f.unlink()
    with pytest.warns(UserWarning, match=r"arrays missing for 2 batch\(es\): arrays/"):  # named, not silent
        page = render_report(root, tmp_path / "r.html").read_text()
    assert "no data for this plot" in page and "carry no snapshots" in page
    assert page.count("<img") == 4  # heatmap, loss-index and the two ECDF figures come from records alone


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("setup", ["missing", "empty-dir", "empty-jsonl", "only-torn"])
def test_unusable_results_dir_raises_report_error(tmp_path: Path, setup: str) -> None:
    root = tmp_path / "res"
    if setup != "missing":
        root.mkdir()
    if setup == "empty-jsonl":
        (root / "runs.jsonl").write_text("")
    if setup == "only-torn":
        (root / "runs.jsonl").write_text('{"run_id": "x", "cas')
    with pytest.raises(ReportError):
        render_report(root)


def test_torn_trailing_line_is_skipped(tmp_path: Path) -> None:
    root = make_results(tmp_path / "res")
    with (root / "runs.jsonl").open("a") as fh:
        fh.write('{"run_id": "torn", "case"')
    with pytest.warns(UserWarning, match="torn"):
        assert len(load_results(root).records) == sum(len(v) for v in PLAN.values())


def test_trace_rows_follow_batch_row_not_file_order(tmp_path: Path) -> None:
    data = load_results(make_results(tmp_path / "res", shuffle=True))
    assert [r["run_index"] for r in data.records] != list(range(len(data.records)))  # really shuffled
    for rec in data.records:
        g2 = data.row_array(rec, "grad_norm_sq")
        assert np.isfinite(g2).sum() == rec["n_iter"] + 1
        assert g2[rec["n_iter"]] == pytest.approx(rec["final_grad_norm_sq"])


def test_cost_columns_are_totals_over_successes(page: str) -> None:
    rows = re.findall(r'<tr class="summary-row">(.*?)</tr>', page)
    hvps_a = sum(3 * (5 + 2 * i) for i in range(6)) / 4  # all runs' HVPs / 4 successes (ERT)
    assert f"<td>{hvps_a:.3g}</td>" in rows[0]


def test_cutoff_analysis_panel_from_score(tmp_path: Path) -> None:
    """A real harness.scoring.cutoffs.cutoff_analysis on the quartic renders as the Fig. 3.3 panel."""
    from cases import get_case
    from harness.scoring.cutoffs import cutoff_analysis

    root = make_results(tmp_path / "res")
    data = load_results(root)
    arrays = {bid: dict(a) for bid, a in data.arrays.items()}
    for a in arrays.values():  # put the snapshots / finals at the minimum (-3, 0) and at the origin
        a["snapshots"] = np.tile(np.array([-3.0, 0.0]), a["snapshots"].shape[:2] + (1,))
        a["theta"] = np.where(np.arange(len(a["theta"]))[:, None] % 2 == 0, [-3.0, 0.0], [0.0, 0.0])
    analysis = cutoff_analysis(get_case("quartic"), data.records, arrays)
    page = render_report(root, cutoff_analyses={"quartic": analysis}).read_text()
    assert "thesis Fig. 3.3" in page and "fraction correct index (all points)" in page
    assert "<th>matched a class</th>" in page  # n_matched shown beside the all-points fraction
    n_matched = [a["n_matched"] for a in analysis]
    table = page[page.index('<table class="cutoff">'):]
    table = table[:table.index("</table>")]
    assert [int(c.split("<td>")[5].removesuffix("</td>")) for c in table.split("</tr>")[1:-1]] == n_matched
    assert "skipped" not in page
    assert page.count("<img") == 6  # heatmap + the case's five figures


def test_cutoff_analysis_file_is_read(tmp_path: Path) -> None:
    root = make_results(tmp_path / "res")
    pts = [{"run_id": "x", "loss": 13.0, "index_count": 0, "index_fraction": 0.0, "matched_class": "min",
            "loss_error": 0.0, "index_error_count": 0}]
    (root / CUTOFF_FILE).write_text(json.dumps({"quartic": [
        {"cutoff": 1e-10, "n_points": 1, "mean_abs_loss_error": 0.0, "fraction_correct_index": 1.0, "points": pts},
        {"cutoff": "inf", "n_points": 1, "mean_abs_loss_error": 0.0, "fraction_correct_index": 1.0, "points": pts},
    ]}))
    page = render_report(root).read_text()
    assert "<td>∞</td>" in page and "thesis Fig. 3.3" in page
    (root / CUTOFF_FILE).write_text("[1, 2")
    with pytest.raises(ReportError, match="not valid JSON"):
        render_report(root)


def test_report_package_imports_neither_jax_nor_solvers() -> None:
    for path in REPORT_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("jax", "harness.solvers", "harness.run.runner", "cases")), (path, name)


def test_huge_finite_gradient_trace_draws_without_numpy_warning(tmp_path: Path) -> None:
    """Issue 12 item 9: a run heading to divergence (||grad||^2 ~ 1e300 but finite) made the
    log-scale trace panel emit 'overflow encountered in exp' at the end of the scorecard."""
    import warnings

    from harness.report import _figures

    root = make_results(tmp_path / "r")
    data = load_results(root)
    rec = data.records[0]
    arrs = data.arrays[str(rec["batch_id"])]
    row = data.batch_rows[str(rec["run_id"])]
    arrs["grad_norm_sq"][row, :3] = [1.0, 1e200, 1.7e307]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = _figures.grad_trace_figure(data, data.records, "quartic")
        fig.savefig(tmp_path / "t.png")
    assert max(max(line.get_ydata()) for ax in fig.axes for line in ax.get_lines()) <= _figures.TRACE_YMAX
