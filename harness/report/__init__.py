"""HTML reports rendered from stored results only (no solver or JAX imports).

``render_report(results_dir, out_html=None)`` writes one self-contained page:
a summary table per (case, solver) and embedded PNG figures (loss-index
scatter, gradient-norm traces, r ECDFs, HVPs-to-success ECDF, cutoff panel)
with a provenance footer, and a sweep section (success and cost against
each swept parameter) when runs differ in a case parameter or solver option.
The plot helpers the rooms above draw with (the leaderboard's ECDF) are public here:
:func:`plot_ecdf` and :func:`solver_colors`.
"""

from ._figures import plot_ecdf, solver_colors
from ._html import render_html, render_report, summary_table
from ._load import ReportError, ResultsData, load_results
from ._sweep import sweep_rows, sweep_section, swept_parameters

__all__ = [
    "ReportError",
    "ResultsData",
    "load_results",
    "plot_ecdf",
    "render_html",
    "render_report",
    "solver_colors",
    "summary_table",
    "sweep_rows",
    "sweep_section",
    "swept_parameters",
]
