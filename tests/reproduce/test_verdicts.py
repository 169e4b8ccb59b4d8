"""Every comparison row with a published number carries a verdict; critbench variants are never set
against a published number; summary.json rows and the README table carry the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.reproduce import _page as P


def test_verdict_text() -> None:
    assert P.verdict(True) == "reproduced"
    assert P.verdict(False, "budget: 20 of 60 runs") == "differs: budget: 20 of 60 runs"
    assert P.verdict(False) == "not reproduced"
    assert P.verdict(None, "anything") == "not reproduced"  # nothing measured: no difference to explain


def test_agrees_within_two_combined_standard_errors() -> None:
    assert P.agrees(80, 100, 80, 4)
    assert P.agrees(72, 100, 80, 4)  # 8 points < 2 * hypot(4.5, 4) = 12
    assert not P.agrees(60, 100, 80, 4)  # 20 points > 2 * hypot(4.9, 4) = 12.6
    assert not P.agrees(12, 12, 45, 5)
    assert not P.agrees(0, 0, 45, 5)


@pytest.mark.parametrize("row, match", [
    (("q", "1", "2", "", ""), "expected 6"),
    (("q", "1", "45%", "", "", ""), "verdict"),
    (("q", "1", "45%", "", "", "differs: "), "verdict"),
    (("q", "1", "45%", "", "", "looks fine"), "verdict"),
    (("damped Newton (critbench variant: always move)", "79%", "45%", "", "", "reproduced"), "critbench variant"),
])
def test_bad_rows_are_rejected(row: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        P.Comparison("t", [row])


def test_rows_without_published_value_need_no_verdict() -> None:
    P.Comparison("t", [("x (critbench variant)", "79%", "–", "", "", "–"), ("y", "3", "", "", "", "")])


def test_summary_rows_and_results_table_carry_the_verdict(tmp_path: Path) -> None:
    page = P.Page("exp", "Title", "thesis", "critbench reproduce exp --quick")
    page.add(P.Comparison("c", [
        ("success (thesis setting)", "44% ± 5 (44/100)", "45% ± 5", "-1 points", "", P.verdict(True)),
        ("other", "20%", "60%", "-40 points", "", P.verdict(False, "measured: Γ moves it")),
        ("success (critbench variant: always move)", "79%", "–", "", "", "–"),
    ]))
    P.write_page(page, tmp_path / "exp")
    s = json.loads((tmp_path / "exp" / "summary.json").read_text(encoding="utf-8"))
    assert [r["verdict"] for r in s["rows"]] == ["reproduced", "differs: measured: Γ moves it", "–"]
    md = (tmp_path / "exp" / "summary.md").read_text(encoding="utf-8")
    assert "| likely reason | verdict |" in md and "| differs: measured: Γ moves it |" in md
    table = P.results_table(tmp_path)
    assert table.splitlines()[0] == "| experiment | quantity | ours | published | verdict | command |"
    assert "| 45% ± 5 | reproduced |" in table and "| 60% | differs: measured: Γ moves it |" in table
    assert "critbench variant" not in table


def test_a_summary_from_before_verdicts_is_not_judged_in_the_table(tmp_path):
    """An old five-cell row is neither 'reproduced' nor 'not reproduced': it was never judged."""
    import json

    from harness.reproduce._page import results_table

    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "summary.json").write_text(json.dumps(
        {"name": "old", "command": "critbench reproduce old --full",
         "comparisons": [["a quantity", "12%", "14%", "-2 points"]]}))
    row = results_table(tmp_path).splitlines()[2]
    assert "| not judged: a summary from before verdicts" in row and "not reproduced" not in row
