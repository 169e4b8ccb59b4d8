"""The lexicographic verdict and ranking rule (issue 30): success before correctness before cost."""

from __future__ import annotations

import pytest

from harness.leaderboard import rank as lbr
from tests.leaderboard._synth import pattern, records

CASES = ("quartic", "xor", "si-line", "dlae", "deep-linear")
#: The reference solves every start of every case, expensively.
REF = [r for c in CASES for r in records("ref-a", c, pattern(20, hvps=90))]
#: 'cheap' needs 9x fewer HVPs, solves 18/20 of quartic (not detectably fewer), 10/20 of dlae, all of the rest.
CHEAP = [r for c in CASES for r in records("cheap", c, pattern({"quartic": 18, "dlae": 10}.get(c, 20), hvps=10))]


def _verdict(lb: lbr.Leaderboard, case: str) -> lbr.CaseVerdict:
    return next(v for v in lb.verdicts if v.case == case)


def test_cheaper_with_fewer_successes_is_never_better_and_ranks_below() -> None:
    lb = lbr.rank_records(REF, {"suite": "toy-v1"}, CHEAP)
    assert all(v.verdict != lbr.BETTER for v in lb.verdicts)
    # fewer successes (2 of 20, not significant), far cheaper: cost speaks, and says only that
    q = _verdict(lb, "quartic")
    assert q.verdict == lbr.CHEAPER == "cheaper, same success"
    assert "HVPs cheaper (18 vs 0 of 18 pairs" in q.evidence and "success n.s. (0 vs 2 of 20 pairs" in q.evidence
    # detectably fewer successes: worse, however cheap
    assert _verdict(lb, "dlae").verdict == lbr.WORSE
    assert _verdict(lb, "dlae").evidence.startswith("success worse (0 vs 10 of 20 pairs")
    assert _verdict(lb, "xor").verdict == lbr.CHEAPER
    # overall: 88/100 ranks below 100/100, although 'cheap' has the better mean per-case rank
    ranks = {o["solver"]: o for o in lb.overall}
    assert ranks["cheap"]["mean_rank"] < ranks["ref-a"]["mean_rank"]
    assert ranks["ref-a"]["rank"] == 1 and ranks["cheap"]["rank"] == 2
    assert lbr.verdict_tally(lb.verdicts) == "0 better / 1 worse / 4 cheaper / 0 n.d."


def test_cost_orders_only_solvers_tied_on_success_and_correctness() -> None:
    same = [r for c in CASES for r in records("same-cheap", c, pattern(20, hvps=10))]
    lb = lbr.rank_records(REF, {"suite": "toy-v1"}, same + [dict(r, solver="other", solver_key="o") for r in CHEAP])
    order = [o["solver"] for o in lb.overall]
    assert order == ["same-cheap", "ref-a", "other"]
    top = lb.overall[0]
    assert (top["common_cells"], top["cost_metric"]) == (5, "hvps")
    assert top["cost_common"] == pytest.approx(10) and lb.overall[1]["cost_common"] == pytest.approx(90)
    assert lb.overall[2]["common_cells"] == 5  # alone in its group: its own solved cells


def test_class_changes_are_not_disagreeing() -> None:
    moved = [dict(r, matched_class="saddle") if r["run_index"] < 3 else r
             for r in records("moved", "quartic", pattern(20, hvps=90))]
    lb = lbr.rank_records(REF[:20], {"suite": "toy-v1"}, moved)
    v = lb.verdicts[0]
    assert v.disagreeing == [] and [d["run_index"] for d in v.class_changes] == [0, 1, 2]
    wrong = [dict(r, correct=False) if r["run_index"] == 4 else r for r in moved]
    v = lbr.rank_records(REF[:20], {"suite": "toy-v1"}, wrong).verdicts[0]
    assert [d["run_index"] for d in v.disagreeing] == [4]


def test_judge_measured_cost_is_preferred_when_both_sides_have_it() -> None:
    ref = [dict(r, judge_cpu_seconds=1.0) for r in REF[:20]]
    new = [dict(r, judge_cpu_seconds=2.0) for r in records("slow", "quartic", pattern(20, hvps=10))]
    v = lbr.rank_records(ref, {"suite": "toy-v1"}, new).verdicts[0]
    assert v.tests[-1].metric == "judge_cpu_seconds" and v.verdict == lbr.COSTLIER
    # one side without it: reported HVPs
    v = lbr.rank_records(REF[:20], {"suite": "toy-v1"}, new).verdicts[0]
    assert v.tests[-1].metric == "hvps" and v.verdict == lbr.CHEAPER


def test_unsandboxed_result_sets_are_marked() -> None:
    recs = records("boxed", "quartic", pattern(20))
    assert lbr.unsandboxed([dict(r, sandbox="bwrap") for r in recs]) == []
    assert lbr.unsandboxed([dict(r, sandbox="trusted") for r in recs]) == []
    assert lbr.unsandboxed([dict(r, sandbox="none") if r["run_index"] == 3 else dict(r, sandbox="bwrap")
                            for r in recs]) == ["boxed"]
    assert lbr.unsandboxed(recs) == ["boxed"]  # an older store's plug-in run: no field
    assert lbr.unsandboxed([dict(r, solver_given="newton-mr") for r in recs]) == []  # built-in, no field
    lb = lbr.rank_records(REF[:20], {"suite": "toy-v1"}, [dict(r, sandbox="none") for r in recs])
    assert lb.unsandboxed == ["boxed"] and lb.to_json()["unsandboxed"] == ["boxed"]
