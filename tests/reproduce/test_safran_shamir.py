"""``critbench reproduce safran-shamir``: the rows come from ball-arithmetic certificates, not from a solver."""

from __future__ import annotations

import json

import pytest

from harness.reproduce import reproduce

pytest.importorskip("flint")


def test_type_a_is_a_certified_minimum_from_k6_and_its_loss_decays_like_a_over_k(tmp_path, monkeypatch) -> None:
    from harness.reproduce import safran_shamir as S

    # the gradient-descent rows on a tiny instance (their verdicts are tested in test_safran_gd.py)
    monkeypatch.setitem(S.GD_MODES, "quick", {"ks": (8,), "runs": 4, "max_iter": 20_000, "over": (8,),
                                                 "runs_over": 2, "max_iter_over": 2_000})
    reproduce(["safran-shamir"], "quick", tmp_path)
    summary = json.loads((tmp_path / "safran-shamir" / "summary.json").read_text())
    numbers = summary["numbers"]
    assert numbers["type_a_minimum_k"] == list(range(6, 21))
    assert numbers["type_a_saddle_index"] == {"4": 2, "5": 3}
    rate = {int(k): v for k, v in numbers["k_times_loss"].items()}
    ks = sorted(rate)
    assert all(rate[a] < rate[b] for a, b in zip(ks, ks[1:]))  # k·F increases towards a ≈ 0.3
    assert 0.2255 < rate[20] < 0.2256 and rate[ks[-1]] < 0.3
    gd = numbers["gradient_descent"]
    assert set(gd) == {"k8-n8", "k8-n9"} and gd["k8-n8"]["runs"] == 4 and gd["k8-n9"]["runs"] == 2
    verdicts = [r["verdict"] for r in summary["rows"]]
    assert len(verdicts) == 5 and all(v.startswith("quick: ") for v in verdicts)  # a quick page never says reproduced
    assert verdicts[0] == verdicts[1] == "quick: agrees on the small instance (not a reproduction)"
    md = (tmp_path / "safran-shamir" / "summary.md").read_text()
    assert "| reproduced |" not in md and "Published: Safran & Shamir's public results" in md
    # a rerun reads the cached gradient-descent runs
    cache = sorted((tmp_path / "runs" / "safran-gd").glob("*.json"))
    assert [f.name for f in cache] == ["k8-n8-runs4-iter20000.json", "k8-n9-runs2-iter2000.json"]


def test_the_committed_page_has_verdicts_for_the_gradient_descent_rows() -> None:
    from pathlib import Path

    summary = json.loads((Path(__file__).resolve().parents[2] / "docs" / "results" / "safran-shamir"
                          / "summary.json").read_text())
    rows = {r["quantity"]: r for r in summary["rows"]}
    gd = [q for q in rows if "gradient descent" in q or "n = k + 1" in q]
    assert len(gd) == 3
    for q in gd:
        v = rows[q]["verdict"].removeprefix("quick: ")
        assert v in ("reproduced", "not reproduced", "agrees on the small instance (not a reproduction)") \
            or (v.startswith("differs: ") and rows[q]["probe"] and rows[q]["probe"]["lands"])
        assert "Safran & Shamir's table" not in rows[q]["published"]  # the published numbers, not a placeholder
