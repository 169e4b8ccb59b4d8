"""Cooper star locus (harness/reproduce/star_locus.py, cases/degenerate_mlp.star_locus_point): the points are
critical, their Hessian spectrum is the closed form, and the nullity bound uses the right rank.  Ground truth:
the closed-form derivation (NumPy) against JAX's dense Hessian, and hand-computed ranks."""

from __future__ import annotations

import numpy as np
import pytest

from cases import get_case
from cases._numeric import dense_gradient, dense_hessian
from cases.degenerate_mlp import param_slices, star_hessian_prediction, star_locus_point
from harness.reproduce.star_locus import nullity_bound, spectrum_agrees


@pytest.mark.parametrize(("widths", "act", "i"), [((2, 3, 3, 1), "tanh", 1), ((2, 3, 4, 3, 2), "swish", 2)])
def test_star_point_is_critical_with_closed_form_spectrum(widths, act, i) -> None:
    case = get_case("degenerate-mlp", widths=widths, n_zero=2, activation=act, n=8)
    x, y = np.asarray(case.data.x), np.asarray(case.data.y)
    theta = star_locus_point(widths, i, y, np.random.default_rng(1))
    g = dense_gradient(case.loss_fn, theta, case.data)
    assert float(g @ g) < 1e-28
    lam = np.linalg.eigvalsh(dense_hessian(case.loss_fn, theta, case.data))
    pred = star_hessian_prediction(theta, i, x, y, widths, act)
    assert spectrum_agrees(lam, pred)
    assert (lam < -1e-5).sum() > 0  # off the core: a saddle (index rank C * rank M)
    assert not spectrum_agrees(lam, pred * 1.01)  # the comparison can fail
    # off the locus: the output bias moved from mean(y) gives a nonzero gradient
    off = theta.copy()
    off[param_slices(widths)[-1][2]] += 0.1
    g = dense_gradient(case.loss_fn, off, case.data)
    assert float(g @ g) > 1e-4


def test_core_point_has_one_positive_eigenvalue_per_output() -> None:
    widths = (2, 3, 3, 3, 2)
    case = get_case("degenerate-mlp", widths=widths, n_zero=3, activation="tanh", n=8)
    theta = star_locus_point(widths, 3, np.asarray(case.data.y), np.random.default_rng(2), zero_layers=(1,))
    lam = np.linalg.eigvalsh(dense_hessian(case.loss_fn, theta, case.data))
    assert np.allclose(lam[-2:], 1.0) and np.all(np.abs(lam[:-2]) < 1e-12)  # 2/d_out = 1, rest zero


def test_nullity_bound_at_star_point_and_generic_point() -> None:
    case = get_case("degenerate-mlp", widths=(2, 6, 6, 6, 1), n=4, n_zero=3, activation="tanh")
    theta = star_locus_point((2, 6, 6, 6, 1), 2, np.asarray(case.data.y), np.random.default_rng(3))
    assert nullity_bound(case, theta) == (6, 3)  # h_H = 0: rank [h_H; 1] = 1; uniform bound n_H + 1 - n = 3
    generic = np.random.default_rng(4).normal(size=case.dim)
    assert nullity_bound(case, generic) == (3, 3)  # 4 generic points: rank 4


def test_star_locus_point_rejects_bad_component() -> None:
    with pytest.raises(ValueError, match="star-locus component"):
        star_locus_point((2, 3, 3, 1), 3, np.zeros((4, 1)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="zero_layers"):
        star_locus_point((2, 3, 3, 1), 1, np.zeros((4, 1)), np.random.default_rng(0), zero_layers=(1,))
