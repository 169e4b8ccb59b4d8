"""One table of summary columns (harness.results.columns, issue 31): the terminal scorecard, the HTML
report, the leaderboard and the site take their headers and cells from it, so a column added to the
table (here by monkeypatch) shows in each view that names it, and a header changed there changes everywhere."""

from __future__ import annotations

import dataclasses

import pytest

from harness.results import columns as colmod
from harness.results.columns import VIEWS, Column, columns

ROW = {"case": "quartic", "case_key": "q", "solver": "newton-mr", "solver_key": "s", "runs": 4, "successes": 2,
       "success_fraction": 0.5, "success_ci": (0.15, 0.85), "verified": 2, "correct": 1, "correct_fraction": 0.5,
       "correct_ci": (0.09, 0.91), "unverified": 0, "gradient_flat": 1, "gradient_flat_ever": 2,
       "gradient_flat_ever_reported": 2, "diverged": 0, "mean_abs_loss_error": 1e-9, "mean_abs_index_error": 0.0,
       "hvps_per_success": 123.0, "grads_per_success": 10.0, "seconds_per_success": 0.5, "compile_seconds": 2.0,
       "hvps_in_the_fake_column": 42}

FAKE = Column("fake", "fake quantity (long header)", "fake q", lambda r: f"<{r['hvps_in_the_fake_column']}>",
              "a column added by the test", frozenset({"terminal", "html", "leaderboard-case", "site-solver"}),
              field="hvps_in_the_fake_column")


@pytest.fixture
def with_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(colmod, "COLUMNS", (*colmod.COLUMNS, FAKE))


def test_every_view_has_columns_with_unique_keys_and_headers() -> None:
    keys = [c.key for c in colmod.COLUMNS]
    assert len(keys) == len(set(keys))
    for view in VIEWS:
        cols = columns(view)
        assert cols and len({c.short for c in cols}) == len(cols), view
        assert all(c.help for c in cols)
    with pytest.raises(ValueError, match="unknown view"):
        columns("nowhere")
    with pytest.raises(ValueError, match="unknown view"):
        dataclasses.replace(FAKE, views=frozenset({"nowhere"}))


def test_terminal_summary_reads_the_table(with_fake: None) -> None:
    from harness.cli import summary_table

    head, body = summary_table([ROW], wide=True)
    assert head == [c.short for c in columns("terminal")] and head[-1] == "fake q" and body[0][-1] == "<42>"
    head, _ = summary_table([ROW])
    assert "fake q" not in head  # not in the compact view


def test_html_report_reads_the_table(with_fake: None) -> None:
    from harness.report import summary_table

    page = summary_table([ROW])
    assert "<th>fake quantity (long header)</th>" in page and "<td>42</td>" in page
    for c in columns("html"):
        assert f"<th>{c.header.replace('&', '&amp;')}</th>" in page


def test_leaderboard_and_site_read_the_table(with_fake: None, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from harness.leaderboard import rank as lbr

    lb_row = dict(ROW, rank=1, reference=False, ert_hvps=250.0)
    lb = lbr.Leaderboard([lb_row], [], [], ["newton-mr"], [], 0.01, 0, {}, [])
    head, body = lbr.case_table(lb, "quartic", "q")
    assert head == [c.short for c in columns("leaderboard-case")] and head[-1] == "fake q"
    assert body[0][1] == "newton-mr *" and body[0][-1] == "<42>"
    # a header renamed in the table is renamed in the leaderboard
    renamed = tuple(dataclasses.replace(c, short="HVPs per success") if c.key == "hvps_per_success" else c
                    for c in colmod.COLUMNS)
    monkeypatch.setattr(colmod, "COLUMNS", renamed)
    assert "HVPs per success" in lbr.case_table(lb, "quartic", "q")[0]
    # the site's solver page: the same table, the case cell a link
    from harness.site.build import _solver_page

    out = tmp_path
    (out / "solvers").mkdir()
    lb.overall = [{"solver": "newton-mr", "rank": 1, "runs": 4, "success_fraction": 0.5, "success_ci": (0.15, 0.85)}]
    _solver_page(lb, "newton-mr", out)
    page = (out / "solvers" / "newton-mr.html").read_text(encoding="utf-8")
    assert "fake q" in page and "&lt;42&gt;" in page and "HVPs per success" in page and "cases/quartic.html" in page
