"""``critbench reproduce safran-shamir``: the rows come from ball-arithmetic certificates, not from a solver."""

from __future__ import annotations

import json

import pytest

from harness.reproduce import reproduce

pytest.importorskip("flint")


def test_type_a_is_a_certified_minimum_from_k6_and_its_loss_decays_like_a_over_k(tmp_path) -> None:
    reproduce(["safran-shamir"], "quick", tmp_path)
    summary = json.loads((tmp_path / "safran-shamir" / "summary.json").read_text())
    numbers = summary["numbers"]
    assert numbers["type_a_minimum_k"] == list(range(6, 21))
    assert numbers["type_a_saddle_index"] == {"4": 2, "5": 3}
    rate = {int(k): v for k, v in numbers["k_times_loss"].items()}
    ks = sorted(rate)
    assert all(rate[a] < rate[b] for a, b in zip(ks, ks[1:]))  # k·F increases towards a ≈ 0.3
    assert 0.2255 < rate[20] < 0.2256 and rate[ks[-1]] < 0.3
    md = (tmp_path / "safran-shamir" / "summary.md").read_text()
    # quick pages never say "reproduced" (issue 32): the certificate rows agree, the gradient-descent rows are not run
    assert md.count("| quick: agrees on the small instance (not a reproduction) |") == 2
    assert md.count("| quick: not reproduced |") == 2 and "| reproduced |" not in md
