"""The columns of every summary table, defined once: the terminal scorecard (``critbench score``),
the HTML report, the leaderboard tables and the static site all read :data:`COLUMNS`.

A column shows one quantity of a summary row (:func:`harness.scoring.summary.summarize`, extended
by the leaderboard with ``rank``, ``ert_hvps``, ...): its ``key``, a long ``header`` (the HTML
report), a ``short`` header (terminal, leaderboard, site), a plain-text formatter ``text(row)``,
a ``help`` line, the row ``field`` (and ``interval``) the HTML report renders, whether its text
may wrap, and the ``views`` that show it.  A view lists its columns in table order
(:func:`columns`).  Adding a column is one entry here.

Views: ``terminal`` (``critbench score --wide``), ``terminal-compact`` (its default),
``html`` (the report's summary table; a column shows when its ``field`` is in some row),
``leaderboard-overall`` and ``leaderboard-case`` (ranked tables; markdown and site too),
``site-solver`` (a solver's page on the site).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from harness._format import MISSING, number, percent_ci

__all__ = ["COLUMNS", "VIEWS", "Column", "column", "columns"]

Row = Mapping[str, Any]

#: Views that read :data:`COLUMNS`.
VIEWS = ("terminal", "terminal-compact", "html", "leaderboard-overall", "leaderboard-case", "site-solver")


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of the summary tables (module docstring)."""

    key: str
    header: str
    short: str
    text: Callable[[Row], str]
    help: str
    views: frozenset[str]
    field: str | None = None
    interval: str | None = None
    wrap: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.views) - set(VIEWS)
        if unknown:
            raise ValueError(f"column {self.key!r}: unknown view(s) {', '.join(sorted(unknown))}; views: {', '.join(VIEWS)}")


def _field(name: str, digits: int | None = None) -> Callable[[Row], str]:
    """The row's ``name`` as text (``digits`` significant digits for floats; ``-`` when absent)."""
    if digits is None:
        return lambda r: MISSING if r.get(name) is None else str(r[name])
    return lambda r: number(r.get(name), digits)


def _solver(row: Row) -> str:
    """The solver's name; ``" *"`` marks a new method among references (leaderboard rows)."""
    return str(row["solver"]) + ("" if row.get("reference", True) else " *")


def _correct_of_verified(row: Row) -> str:
    """``"correct/verified pct% [lo, hi]"`` or ``-`` when nothing could be verified."""
    if row.get("verified") is None:
        return MISSING
    return f"{row['correct']}/{row['verified']} {percent_ci(row.get('correct_fraction'), row.get('correct_ci'))}"


def _views(*names: str) -> frozenset[str]:
    return frozenset(names)


_TERMINALS = ("terminal", "terminal-compact")
_RANKED = ("leaderboard-overall", "leaderboard-case", "site-solver")

#: Every column, in the order the views show them.
COLUMNS: tuple[Column, ...] = (
    Column("case", "case", "case", _field("case"), "the case's registered name",
           _views(*_TERMINALS, "html", "site-solver"), field="case", wrap=True),
    Column("rank", "rank", "rank", _field("rank"), "rank of the solver (by success, then correctness, then cost)",
           _views(*_RANKED)),
    Column("solver", "solver", "solver", _solver, "the solver's registered name (leaderboard: * marks a new method)",
           _views(*_TERMINALS, "html", "leaderboard-overall", "leaderboard-case"), field="solver", wrap=True),
    Column("cells", "cells", "cells", _field("cells"), "cells (case instances) the solver ran",
           _views("leaderboard-overall")),
    Column("runs", "runs", "runs", _field("runs"), "runs in the cell", _views(*_TERMINALS, "html", *_RANKED),
           field="runs"),
    Column("success", "success % [95% Wilson]", "success (95% CI)",
           lambda r: percent_ci(r.get("success_fraction"), r.get("success_ci")),
           "runs ending at a critical point (||grad L||^2 below tol), with the Wilson 95% interval",
           _views(*_TERMINALS, "html", *_RANKED), field="success_fraction", interval="success_ci"),
    Column("verified", "verified runs", "verified", _field("verified"), "runs the ground truth could judge",
           _views("html"), field="verified"),
    Column("correct_count", "verified correct", "correct", _field("correct"),
           "verified runs whose loss and index match a certified class", _views("html"), field="correct"),
    Column("correct", "correct / verified % [95% Wilson]", "correct (95% CI)",
           lambda r: percent_ci(r.get("correct_fraction"), r.get("correct_ci")),
           "correct among the runs the ground truth could judge, with the Wilson 95% interval",
           _views("terminal-compact", "html", *_RANKED), field="correct_fraction", interval="correct_ci"),
    Column("correct_of_verified", "correct / verified [95% Wilson]", "correct/verified (95% CI)", _correct_of_verified,
           "correct and verified counts with the correct fraction's Wilson 95% interval", _views("terminal")),
    Column("unverified", "unverified critical", "unverified", lambda r: str(r.get("unverified", 0)),
           "critical runs outside the classes a partial ground truth lists", _views("terminal", "html"),
           field="unverified"),
    Column("gradient_flat", "gradient-flat (final)", "flat final", _field("gradient_flat"),
           "runs gradient-flat at the final point (r, r_H recomputed by the harness)", _views("html"),
           field="gradient_flat"),
    Column("flat_final_ever", "gradient-flat (final / ever)", "flat final/ever",
           lambda r: f"{r['gradient_flat']}/{r['gradient_flat_ever']}",
           "gradient-flat at the final point / at the final point or a cutoff snapshot (recomputed by the harness)",
           _views(*_TERMINALS, "leaderboard-case", "site-solver")),
    Column("gradient_flat_ever", "gradient-flat (ever, verified)", "flat ever", _field("gradient_flat_ever"),
           "runs gradient-flat at the final point or a cutoff snapshot (recomputed by the harness)",
           _views("html", "leaderboard-overall"), field="gradient_flat_ever"),
    Column("gradient_flat_ever_reported", "gradient-flat ever (solver-reported, unverified)",
           "flat ever (solver-reported)", lambda r: str(r.get("gradient_flat_ever_reported", MISSING)),
           "runs whose own r/r_H trace was ever gradient-flat (the solver's claim, unverified)",
           _views("terminal", "html"), field="gradient_flat_ever_reported"),
    Column("diverged", "diverged", "diverged", _field("diverged"), "runs that diverged (non-finite iterate or loss)",
           _views("terminal", "html"), field="diverged"),
    Column("mean_abs_loss_error", "mean |loss error|", "|loss err|", _field("mean_abs_loss_error", 3),
           "mean |L - L_class| over the matched critical runs", _views("terminal", "html"), field="mean_abs_loss_error"),
    Column("mean_abs_index_error", "mean |index error|", "|index err|", _field("mean_abs_index_error", 3),
           "mean |index - index_class| over the matched critical runs", _views("html"), field="mean_abs_index_error"),
    Column("hvps_per_success", "HVPs / success (ERT)", "HVPs/success", _field("hvps_per_success", 4),
           "Hessian-vector products of all runs per successful run (expected running time)",
           _views(*_TERMINALS, "html", *_RANKED), field="hvps_per_success"),
    Column("grads_per_success", "grads / success", "grads/success", _field("grads_per_success", 3),
           "gradient evaluations of all runs per successful run", _views("html"), field="grads_per_success"),
    Column("seconds_per_success", "seconds / success", "s/success", _field("seconds_per_success", 3),
           "wall seconds of all runs per successful run", _views("terminal", "html"), field="seconds_per_success"),
    Column("compile_seconds", "compile seconds", "compile s", _field("compile_seconds", 2),
           "seconds spent compiling the cell's solver", _views("terminal", "html"), field="compile_seconds"),
    Column("ert_hvps", "ERT (HVPs)", "ERT (HVPs)", _field("ert_hvps", 4),
           "expected HVPs to the first success, restarting after failures", _views("leaderboard-case", "site-solver")),
    Column("mean_rank", "mean case rank", "mean case rank", lambda r: f"{r['mean_rank']:.2f}",
           "the solver's rank averaged over the cases", _views("leaderboard-overall")),
    Column("vs_references", "vs references", "vs references", _field("vs_references"),
           "paired verdicts of a new method against the references (better / worse / no detectable difference)",
           _views("leaderboard-overall"), wrap=True),
)


def columns(view: str) -> list[Column]:
    """The columns ``view`` shows, in table order.

    Raises:
        ValueError: an unknown view.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; views: {', '.join(VIEWS)}")
    return [c for c in COLUMNS if view in c.views]


def column(key: str) -> Column:
    """The column ``key``.

    Raises:
        KeyError: no such column.
    """
    for c in COLUMNS:
        if c.key == key:
            return c
    raise KeyError(f"no column {key!r}; columns: {', '.join(c.key for c in COLUMNS)}")
