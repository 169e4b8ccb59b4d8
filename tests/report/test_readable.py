"""The HTML report readable at a glance (issue 30): label contrast, a scrolling summary, "–" for not measured."""

from __future__ import annotations

import matplotlib

from harness.report import _figures as figs
from harness.report._html import _CSS, _cutoff_table, summary_table


def _row(case: str, solver: str, frac: float) -> dict:
    return {"case": case, "solver": solver, "runs": 20, "success_fraction": frac, "success_ci": (0.0, 1.0),
            "correct_fraction": frac, "correct_ci": (0.0, 1.0)}


def test_heatmap_labels_pass_wcag_contrast() -> None:
    rows = [_row("quartic", "a", 0.0), _row("quartic", "b", 1.0), _row("xor", "a", 0.5), _row("xor", "b", 0.1)]
    fig = figs.summary_heatmap(rows)
    cmap = matplotlib.colormaps["RdYlGn"]
    seen = {}
    for ax in fig.axes:
        for t in ax.texts:
            x, y = (round(v) for v in t.get_position())
            frac = {(0, 0): 0.0, (1, 0): 1.0, (0, 1): 0.5, (1, 1): 0.1}[(x, y)]
            bg = cmap(frac)
            fg = matplotlib.colors.to_rgb(t.get_color())
            assert figs.contrast_ratio(fg, bg) >= 4.5, (frac, t.get_color())
            seen[frac] = t.get_color()
    assert seen[0.0] == "white" and seen[1.0] == "white" and seen[0.5] == "black"
    assert figs.label_color((0.0, 0.0, 0.0)) == "white" and figs.label_color((1.0, 1.0, 1.0)) == "black"


def test_summary_table_scrolls_within_its_box() -> None:
    html = summary_table([_row("quartic", "a", 0.5)])
    assert html.startswith('<div class="table-scroll"><table>') and html.endswith("</table></div>")
    assert ".table-scroll{overflow-x:auto" in _CSS


def test_cutoff_table_dash_means_not_measured() -> None:
    entry = {"cutoff": 1e-10, "n_points": 4, "n_matched": 0, "mean_abs_loss_error": None,
             "fraction_correct_index": 0.0, "fraction_correct_index_of_matched": None}
    partial = _cutoff_table([entry], partial=True)
    cells = partial.split("</tr>")[1].split("<td>")[1:]
    assert [c.removesuffix("</td>") for c in cells] == ["1e-10", "4", "–", "–", "0", "–"]
    assert "–: not measured" in partial
    full = _cutoff_table([entry], partial=False)  # a complete ground truth judges every point: 0 is measured
    assert [c.removesuffix("</td>") for c in full.split("</tr>")[1].split("<td>")[1:]][3] == "0"
