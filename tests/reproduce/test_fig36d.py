"""Thesis Fig. 3.6D on the sec-3.5 page: the constant-output loss, the claim's counts and its verdict row.

The solver side (the loop keeps the maximally flat iterate) is tested in
``tests/solvers/test_max_r.py``; forged points in ``tests/trust/test_adversarial.py``.
"""

from __future__ import annotations

import math

import numpy as np

from cases import get_case
from harness.reproduce import field


def test_constant_output_loss_is_the_autoencoders_loss_at_a_constant_output_network() -> None:
    """All weights 0 and the output bias = the data mean: the network outputs the mean everywhere, and the case's
    own loss there equals the closed form; any other constant output (bias) has a larger loss."""
    case = get_case("swish-autoencoder", n=40)
    y = np.asarray(case.data["y"])
    theta = np.zeros(case.dim)
    theta[-16:] = y.mean(axis=0)
    assert np.array_equal(case.unflatten(theta)["b3"], y.mean(axis=0))  # the last 16 entries are the output bias
    l0 = field.constant_output_loss(case)
    assert math.isclose(float(case.loss_fn(theta, case.data)), l0, rel_tol=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(3):
        other = theta.copy()
        other[-16:] += 0.05 * rng.standard_normal(16)
        assert float(case.loss_fn(other, case.data)) > l0
    assert 0.5 < l0 < 1.5  # z-scored digits: about 1 per feature


def _pt(loss, g2, frac, consistent=True):
    return {"loss": loss, "grad_norm_sq": g2, "index_fraction": frac, "consistent": consistent, "r": 0.95}


def test_fig36d_counts_apply_the_stated_tolerances() -> None:
    l0 = 2.0
    tol = field.CONST_LOSS_RTOL * l0
    pts = {
        "a": _pt(l0 + 0.9 * tol, 1e-12, 0.05),  # blue, near L0, low nonzero index: counts
        "b": _pt(l0 - 1.1 * tol, 1e-12, 0.05),  # blue, loss just outside the band
        "c": _pt(l0, 1e-12, 0.0),  # blue, index 0 (a minimum): does not count
        "d": _pt(l0, 1e-12, field.LOW_INDEX_FRACTION),  # blue, index not below the bound
        "e": _pt(l0, 1e-6, 0.05),  # drawn (< 1e-4) but not blue
        "f": _pt(l0, 1e-3, 0.05),  # not drawn
        "g": _pt(l0, 1e-12, 0.05, consistent=False),  # inconsistent with its trace: left out
    }
    c = field.fig36d_counts(pts, l0)
    assert c["critical"] == (1, 4)
    assert c["shown"] == (2, 5)
    assert c["kept"] == (6, 7)


def test_fig36d_verdict_row() -> None:
    def verdict(k, n, quick=False):
        rows = field._fig36d_rows("swish-autoencoder", {"critical": (k, n), "shown": (k, n), "kept": (n, n)}, 1.0,
                                  quick, 100, 500)
        assert rows[1][2] == "–" and rows[1][5] == "–"  # the all-drawn-points row carries no published value
        return rows[0][5]

    assert verdict(9, 10) == "reproduced"
    assert verdict(3, 10) == "not reproduced"
    assert verdict(0, 0).startswith("differs: no maximally flat iterate")
    assert verdict(9, 10, quick=True).startswith("differs: quick mode")


def test_max_r_points_without_stored_arrays_are_left_out() -> None:
    recs = [{"run_id": "a", "batch_id": "b", "batch_row": 0}]
    arrays = {"b": {"theta": np.zeros((1, 2)), "r": np.full((1, 3), 0.5), "loss": np.ones((1, 3))}}
    p = field.max_r_points("quartic", {}, recs, arrays)["a"]
    assert not p["consistent"] and p["why"].startswith("not stored")


def test_claim_row_verdicts_with_and_without_a_probe() -> None:
    """A published 90% of 60 runs: 0/60 is far outside, 54/60 inside two combined standard errors."""
    pub = ("≈90%", 90.0, 60)
    row = field.claim_row("swish-mlp", "max_r>0.9", (54, 60), pub, 500, quick=False)
    assert row[-1] == "reproduced" and row[4] == ""
    row = field.claim_row("swish-mlp", "max_r>0.9", (0, 60), pub, 500, quick=False)
    assert row[-1] == "not reproduced" and row[4] == field.DATA_REASON
    row = field.claim_row("swish-mlp", "max_r>0.9", (0, 60), pub, 500, quick=False, probe=("L2 1e-3", (18, 20)))
    assert row[-1].startswith("differs: L2 1e-3: 90% (18/20)") and row[4] in row[-1]
    row = field.claim_row("swish-mlp", "max_r>0.9", (0, 60), pub, 500, quick=False, probe=("L2 1e-3", (2, 20)))
    assert row[-1] == "not reproduced" and "10% (2/20)" in row[4] and field.DATA_REASON in row[4]
    row = field.claim_row("swish-mlp", "max_r>0.9", (54, 60), pub, 500, quick=True)
    assert row[-1].startswith("differs: quick mode")
    qual = ("a bad local minimum", None, 50)
    assert field.claim_row("overparam-mlp", "bad_min_ln2", (1, 50), qual, 500, quick=False)[-1] == "reproduced"
    assert field.claim_row("overparam-mlp", "bad_min_ln2", (0, 50), qual, 500, quick=False,
                           probe=("x", (1, 20)))[-1].startswith("differs: x")
