"""Thesis Fig. 3.6D on the sec-3.5 page: the constant-output loss, the claim's counts and its verdict row.

The solver side (the loop keeps the maximally flat iterate) is tested in
``tests/solvers/test_max_r.py``; forged points in ``tests/trust/test_adversarial.py``.
"""

from __future__ import annotations

import math

import numpy as np

from cases import get_case
from harness.reproduce import _page as P
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
    def row(k, n):
        rows = field._fig36d_rows("swish-autoencoder", {"critical": (k, n), "shown": (k, n), "kept": (100, 100)},
                                  1.0)
        assert rows[1][2] == "–" and rows[1][5] == "–"  # the all-drawn-points row carries no published value
        return rows[0]

    assert row(9, 10)[5] == "reproduced"
    assert row(3, 10)[5] == "not reproduced"
    # 0 of 0 points tested is no measured reason for a difference: not reproduced, the count shown
    none = row(0, 0)
    assert none[5] == "not reproduced" and "0 of 100" in none[1]


def test_max_r_points_without_stored_arrays_are_left_out() -> None:
    recs = [{"run_id": "a", "batch_id": "b", "batch_row": 0}]
    arrays = {"b": {"theta": np.zeros((1, 2)), "r": np.full((1, 3), 0.5), "loss": np.ones((1, 3))}}
    p = field.max_r_points("quartic", {}, recs, arrays)["a"]
    assert not p["consistent"] and p["why"].startswith("not stored")


def test_claim_row_verdicts_with_and_without_a_probe() -> None:
    """A published 90% of 60 runs: 0/60 is far outside, 54/60 inside two combined standard errors."""
    pub = ("≈90%", 90.0, 60)
    row = field.claim_row("swish-mlp", "max_r>0.9", (54, 60), pub)
    assert row[5] == "reproduced" and row[4] == "" and len(row) == 6
    row = field.claim_row("swish-mlp", "max_r>0.9", (0, 60), pub)
    assert row[5] == "not reproduced" and row[4] == field.DATA_REASON
    row = field.claim_row("swish-mlp", "max_r>0.9", (0, 60), pub, probes=[("L2 1e-3", (18, 20))])
    assert row[5].startswith("differs: L2 1e-3 (20 runs, the thesis setting otherwise): 90% (18/20)")
    assert isinstance(row[6], P.Probe) and row[6].lands and row[6].lo <= 90 <= row[6].hi
    P.check_row(row)
    row = field.claim_row("swish-mlp", "max_r>0.9", (0, 60), pub, probes=[("L2 1e-3", (2, 20))])
    assert row[5] == "not reproduced" and "10% (2/20)" in row[4] and field.DATA_REASON in row[4] and len(row) == 6
    # of two probes, the one that lands explains the row
    row = field.claim_row("swish-mlp", "max_r>0.9", (0, 60), pub, probes=[("a", (2, 20)), ("b", (18, 20))])
    assert row[5].startswith("differs: b (20 runs") and row[6].what.startswith("b ")
    qual = ("a bad local minimum", None, 50)
    assert field.claim_row("overparam-mlp", "bad_min_ln2", (1, 50), qual)[5] == "reproduced"
    assert field.claim_row("overparam-mlp", "bad_min_ln2", (0, 50), qual,
                           probes=[("x", (1, 20))])[5].startswith("differs: x")
    assert field.claim_row("overparam-mlp", "bad_min_ln2", (0, 50), qual,
                           probes=[("x", (0, 20))])[5] == "not reproduced"


def test_overparam_thesis_setting_uses_the_printed_regulariser() -> None:
    """Sec. 3.5.3 trains the over-parameterized net 'also' with the l2 regularizer Sec. 3.5.2 prints,
    r(θ) = ||θ||² (coefficient 1); make_overparam's default 1e-3 is a labelled probe, not the thesis cell."""
    import inspect

    from cases.field import make_overparam

    quick, full = field.CASES["overparam-mlp"][:2]
    assert quick["l2"] == full["l2"] == 1.0
    assert inspect.signature(make_overparam).parameters["l2"].default != 1.0  # so the cell must name it
    probes = {over.get("l2") for _, over, _ in field.PROBES["overparam-mlp"]}
    assert 1e-3 in probes
    assert any("1e-3" in what for what, over, _ in field.PROBES["overparam-mlp"] if over.get("l2") == 1e-3)
