"""Tests of the SI-line case (Stoican's teacher-student problem) and its certificate.

Ground truth is checked by dense ``numpy.linalg`` eigendecompositions of the
autodiff Hessian and by the SymPy block identities, never by a solver.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import cases
from cases import si_line as S
from cases._numeric import dense_gradient, dense_hessian, inertia
from cases.certificates import certify
from cases.certificates.si_line import check_block_identities


@pytest.fixture(scope="module")
def case5() -> cases.Case:
    return cases.get_case("si-line")


@pytest.fixture(scope="module")
def cert():
    return certify("si-line")


def test_certificate_passes(cert) -> None:
    cert.raise_if_failed()
    assert len(cert.checks) > 100
    assert any(c.name.startswith("sympy:") for c in cert.checks)


def test_certificate_width4() -> None:
    certify("si-line", width=4, symbolic=False).raise_if_failed()


@pytest.mark.parametrize("field, delta", [("nullity", 1), ("nullity", -1), ("index_count", 1)])
def test_certificate_rejects_perturbed_class(case5, field: str, delta: int) -> None:
    good = case5.ground_truth.class_by_label("teacher-dup-0")
    bad = dataclasses.replace(good, **{field: getattr(good, field) + delta})
    c = certify("si-line", mus=(0.3,), classes=(bad,), symbolic=False)
    assert not c.ok
    assert any("dense inertia" in f.name for f in c.failures)


def test_certificate_rejects_wrong_loss(case5) -> None:
    good = case5.ground_truth.class_by_label("local-A-dup-0")
    bad = dataclasses.replace(good, loss=good.loss * (1 + 1e-6))
    assert not certify("si-line", mus=(0.3,), classes=(bad,), symbolic=False).ok


def test_sympy_rejects_wrong_y_factor() -> None:
    checks = check_block_identities("mu**2")
    assert not checks[0].passed
    assert all(c.passed for c in checks[1:])


@pytest.mark.parametrize("j", range(4))
@pytest.mark.parametrize("mu", [-0.5, 0.3, 0.5, 2.0])
def test_teacher_line_dense(case5, j: int, mu: float) -> None:
    theta = S.duplicate(S.TEACHER_W, S.TEACHER_A, j, mu)
    g = dense_gradient(case5.loss_fn, theta, case5.data)
    assert np.linalg.norm(g) < 1e-12
    assert float(case5.loss(theta)) < 1e-25
    neg, zero, pos = inertia(np.linalg.eigvalsh(dense_hessian(case5.loss_fn, theta, case5.data)))
    cls = case5.ground_truth.class_by_label(f"teacher-dup-{j}")
    assert (neg, zero) == (cls.index_count, cls.nullity) == (0, 3)
    assert pos == 12
    assert case5.ground_truth.match(theta).label == f"teacher-dup-{j}"


def test_local_line_side_changes_index(case5) -> None:
    gt = case5.ground_truth
    inner = gt.class_by_label("local-A-dup-3-inner")
    outer = gt.class_by_label("local-A-dup-3-outer")
    assert (inner.index_count, outer.index_count) == (2, 0)
    for mu, cls in [(0.3, inner), (2.0, outer), (-0.5, outer)]:
        theta = S.duplicate(S.LOCAL_A_W, S.LOCAL_A_A, 3, mu)
        assert gt.match(theta) is cls
        neg, zero, _ = inertia(np.linalg.eigvalsh(dense_hessian(case5.loss_fn, theta, case5.data)))
        assert (neg, zero) == (cls.index_count, cls.nullity)


def test_match_permutation_invariant(case5) -> None:
    gt = case5.ground_truth
    rng = np.random.default_rng(0)
    perms = [rng.permutation(5) for _ in range(6)]
    for cls in gt.classes:
        assert gt.match(cls.point) is cls
        for perm in perms:
            assert gt.match(S.permute_neurons(cls.point, perm)) is cls
            noisy = S.permute_neurons(cls.point, perm) + 1e-4 * rng.standard_normal(15)
            assert gt.match(noisy) is cls


def test_match_none_for_random_points(case5) -> None:
    gt = case5.ground_truth
    pts = case5.initial_points(seed=1, n=50)
    assert all(gt.match(p) is None for p in pts)
    assert gt.match(np.full(15, np.nan)) is None
    assert gt.match(np.zeros(12)) is None


def test_class_table(case5) -> None:
    gt = case5.ground_truth
    assert gt.kind == "numeric" and case5.dim == 15
    labels = {c.label for c in gt.classes}
    assert {f"teacher-dup-{j}" for j in range(4)} <= labels
    for c in gt.classes:
        if c.label.startswith("teacher"):
            assert c.loss == 0.0 and c.index_count == 0
    assert abs(gt.class_by_label("local-A-dup-0").loss - S.LOCAL_A_LOSS_APPROX) < 1e-11


def test_sampler_and_data(case5) -> None:
    pts = case5.initial_points(seed=0, n=7)
    assert pts.shape == (7, 15) and np.isfinite(pts).all()
    assert case5.data["x"].shape == (1681, 2)
    assert case5.unflatten(pts[0])["W"].shape == (5, 2)
    assert cases.get_case("si-line", width=4).dim == 12


@pytest.mark.parametrize(
    "params", [{"width": 6}, {"width": 3}, {"mu": 1.0}, {"mu": 0.0}, {"mu": float("inf")}, {"match_tol": 0.5},
               {"width": "x"}, {"nope": 1}, {"init": "random"}, {"init_noise": 0.0}, {"init_noise": 0.2}]
)
def test_bad_params(params) -> None:
    with pytest.raises(cases.CaseError):
        cases.get_case("si-line", **params)


def test_registered() -> None:
    spec = cases.case_spec("si-line")
    assert spec.ground_truth_kind == "numeric"
    cases.get_case("si-line", **spec.small_params)


def test_near_lines_protocol_gives_the_scorecard_cell_signal() -> None:
    """Issue 12 item 8: near the certified lines a correct Newton method (pseudo-inverse
    Newton) returns to a certified class, while returning the initial point scores nothing.
    Ground truth: the certified classes (dense inertia in the certificate), not a solver."""
    from harness.scoring.judge import score_run
    from harness.testing import run_records

    params = cases.case_spec("si-line").small_params
    assert params["init"] == "near-lines"
    case = cases.get_case("si-line", **params)
    starts = case.initial_points(seed=0, n=3)
    # a broken solver that hands back its initial point: never critical, never correct
    for t in starts:
        rec = score_run(case, t, "converged", {})
        assert rec["outcome"] != "critical" and not rec["correct"]
        assert rec["final_grad_norm_sq"] > 1.0
    recs = run_records("pinv-newton", case, theta0=starts, max_iter=12)
    assert sum(r["correct"] is True for r in recs) >= 2, [(r["outcome"], r["matched_class"]) for r in recs]
    for r in recs:
        if r["correct"]:
            assert r["matched_class"].startswith("local-A-dup-")
