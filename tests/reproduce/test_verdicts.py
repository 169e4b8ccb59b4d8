"""Every comparison row with a published number carries a verdict; critbench variants are never set
against a published number; summary.json rows and the README table carry the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.reproduce import _page as P


LANDS = P.Probe.count("L2 1e-3", 18, 20, 90, 4)
MISSES = P.Probe.band("Adam budget", 1.9, 3.0, 5.5)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "results"


def test_verdict_text() -> None:
    assert P.verdict(True) == "reproduced"
    assert P.verdict(False, LANDS) == f"differs: {LANDS.text()}"
    assert P.verdict(False) == "not reproduced"
    assert P.verdict(False, MISSES) == "not reproduced"  # a probe that does not reach the published value
    assert P.verdict(None, LANDS) == "not reproduced"  # nothing measured: no difference to explain


def test_a_reason_in_words_cannot_make_a_row_differ() -> None:
    with pytest.raises(TypeError, match="Probe"):
        P.verdict(False, "outside 2 binomial s.e.")  # type: ignore[arg-type]


def test_probes_land_only_on_the_published_value() -> None:
    assert LANDS.lands and LANDS.lo <= 90 <= LANDS.hi
    assert not P.Probe.count("x", 2, 20, 90, 4).lands
    assert P.Probe.band("Γ × step", 16, 81, 45).lands and not MISSES.lands
    with pytest.raises(ValueError, match="lands"):
        P.Probe("forged", "19-30 of 1000", True, "says so", 1.9, 3.0, 5.5).check()
    with pytest.raises(ValueError, match="criterion"):
        P.Probe("qualitative", "3 saddles", True, "").check()


@pytest.mark.parametrize("row, match", [
    (("q", "30", "55", "", "outside 2 binomial s.e.", "differs: outside 2 binomial s.e."), "without the probe"),
    (("q", "30", "55", "", "", "differs: Adam budget", MISSES), "does not land"),
    (("q", "30", "55", "", "", "quick: reproduced"), "never 'reproduced'"),
    (("q", "1", "45%", "", "", "reproduced", "not a probe"), "Probe"),
    (("classes lie on a line (check of critbench itself, not a reproduction)", "rms 0.02", "linear", "", "",
      "reproduced"), "check of critbench itself"),
])
def test_differs_needs_a_landing_probe(row: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        P.Comparison("t", [row])


def test_a_differs_row_with_its_landing_probe_is_accepted() -> None:
    P.Comparison("t", [("q", "0% (0/60)", "≈90%", "", "", P.verdict(False, LANDS), LANDS)])


def test_quick_verdicts_are_never_reproduced() -> None:
    assert P.quick_verdict("reproduced").startswith("quick: ") and "reproduced" not in P.quick_verdict("reproduced")
    assert P.quick_verdict("not reproduced") == "quick: not reproduced"
    assert P.quick_verdict("–") == "–"
    page = P.Page("exp", "Title", "thesis", "critbench reproduce exp --quick")
    page.add(P.Comparison("c", [("a", "1", "2", "", "", "reproduced"), ("b", "1", "2", "", "", "not reproduced"),
                                ("c", "1", "2", "", "", P.verdict(False, LANDS), LANDS),
                                ("d", "1", "–", "", "", "–"),
                                (f"e ({P.SELF_CHECK})", "1", "–", "", "", "check passes")]))
    page.as_quick().as_quick()  # idempotent
    assert page.title == "quick: Title"
    vs = [r[5] for r in page.blocks[0].rows]
    assert all(v.startswith("quick: ") for v in vs[:3]) and vs[3] == "–" and vs[4] == "check passes"
    assert not any("reproduced" == v.removeprefix("quick: ") for v in vs)


def test_a_quick_page_is_written_as_quick(tmp_path: Path) -> None:
    page = P.Page("exp", "Title", "thesis", "critbench reproduce exp --quick")
    page.add(P.Comparison("c", [("a", "1", "2", "", "", "reproduced")]))
    P.write_page(page, tmp_path / "exp")
    s = json.loads((tmp_path / "exp" / "summary.json").read_text(encoding="utf-8"))
    assert s["title"].startswith("quick") and s["quick"] is True
    assert [r["verdict"] for r in s["rows"]] == ["quick: agrees on the small instance (not a reproduction)"]
    assert (tmp_path / "exp" / "summary.md").read_text(encoding="utf-8").startswith("# quick: Title")
    assert "| reproduced |" not in P.results_table(tmp_path)


def _committed_rows() -> list[tuple[str, dict]]:
    out = []
    for f in sorted(DOCS.glob("*/summary.json")):
        s = json.loads(f.read_text(encoding="utf-8"))
        out += [(s["name"], {**r, "_quick": s.get("quick") or "--quick" in s["command"].split()})
                for r in s.get("rows", [])]
    return out


def test_committed_summaries_exist() -> None:
    assert len(_committed_rows()) > 20


@pytest.mark.parametrize("name, row", _committed_rows(),
                         ids=lambda x: x if isinstance(x, str) else str(x.get("quantity"))[:40])
def test_committed_rows_follow_the_rule(name: str, row: dict) -> None:
    """Every committed "differs" row stores the probe or band it names, and that probe lands on the
    published value (a numeric one re-checked from its stored interval); quick summaries never say
    "reproduced"; critbench variants and self-checks carry no published value."""
    v, pub = str(row["verdict"]), str(row["published"])
    if v.startswith("differs"):
        probe = row.get("probe")
        assert probe, f"{name}: {row['quantity']!r} says differs without a stored probe"
        pr = P.Probe(**probe)
        pr.check()
        assert pr.lands, f"{name}: {row['quantity']!r}: its probe does not land on the published value"
        if pr.target is not None:
            assert pr.lo <= pr.target <= pr.hi
    if row["_quick"]:
        assert v.removeprefix("quick: ") != "reproduced" and (v in P.NO_PUBLISHED or v.startswith("quick: "))
    if pub not in P.NO_PUBLISHED:
        assert P.VARIANT not in row["quantity"] and P.SELF_CHECK not in row["quantity"]
        assert v == "reproduced" or v == "not reproduced" or v.startswith(("differs: ", "quick: "))


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


GAMMA = P.Probe.band("Γ × step", 16, 81, 60)


def test_summary_rows_and_results_table_carry_the_verdict(tmp_path: Path) -> None:
    page = P.Page("exp", "Title", "thesis", "critbench reproduce exp --full")
    page.add(P.Comparison("c", [
        ("success (thesis setting)", "44% ± 5 (44/100)", "45% ± 5", "-1 points", "", P.verdict(True)),
        ("other", "20%", "60%", "-40 points", "", P.verdict(False, GAMMA), GAMMA),
        ("success (critbench variant: always move)", "79%", "–", "", "", "–"),
    ]))
    P.write_page(page, tmp_path / "exp")
    s = json.loads((tmp_path / "exp" / "summary.json").read_text(encoding="utf-8"))
    assert [r["verdict"] for r in s["rows"]] == ["reproduced", f"differs: {GAMMA.text()}", "–"]
    assert s["rows"][1]["probe"] == GAMMA.to_json() and s["rows"][0]["probe"] is None
    assert len(s["comparisons"][1]) == 6  # the table's cells; the probe lives in "rows"
    md = (tmp_path / "exp" / "summary.md").read_text(encoding="utf-8")
    assert "| likely reason | verdict |" in md and f"| differs: {GAMMA.text()} |" in md
    table = P.results_table(tmp_path)
    assert table.splitlines()[0] == "| experiment | quantity | ours | published | verdict | command |"
    assert "| 45% ± 5 | reproduced |" in table and f"| 60% | differs: {GAMMA.text()} |" in table
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


def test_committed_summaries_are_already_rejudged(tmp_path: Path) -> None:
    """Re-deriving the committed summaries' verdicts from their stored numbers changes nothing: they
    follow the rule as the experiment code applies it."""
    import shutil

    from harness.reproduce._rejudge import rejudge

    shutil.copytree(DOCS, tmp_path / "docs")
    assert rejudge(tmp_path / "docs") == []


@pytest.mark.parametrize("k, verdict_damped, verdict_probe", [(15, "not reproduced", "not reproduced"),
                                                              (44, "differs", "reproduced")])
def test_public_code_probe_decides_the_damped_row(k: int, verdict_damped: str, verdict_probe: str) -> None:
    """table-3.1: the stop-rule row can only 'differ' through the public-code probe's measured success; the
    Γ × step band never decides it.  A probe at 15/100 leaves it 'not reproduced'; one at 44/100 lands on 45% ± 5."""
    from harness.reproduce import _rejudge
    from harness.reproduce.table31 import PUBLIC_CODE_LABEL

    nums = {"rows": {"damped_newton_band": {"stop_rule": [0.16, 0.81]},
                     PUBLIC_CODE_LABEL: {"runs": 100, "successes": k}}}
    row = ("damped Newton (thesis public code: stop when no γ improves): success", "18% ± 4 (18/100)",
           "45% ± 5 (100 runs)", "-27 points", "100 runs x 500 iterations (thesis 100 x 500)", "not reproduced")
    new = _rejudge._table31(row[0], row, nums)
    assert new[5].startswith(verdict_damped) and f"({k}/100)" in new[4] and "16–81%" in new[4]
    P.check_row(new)
    probe_row = next(r for _, r in _rejudge._table31_add(nums) if r[0].startswith(PUBLIC_CODE_LABEL))
    assert probe_row[5] == verdict_probe and f"{k}% ± " in probe_row[1]
