"""Safran & Shamir's gradient-descent rows: the loss for ``n >= k`` students, the descent in their setting,
the classification of end points with the certified classes, and the verdicts of the rows."""

from __future__ import annotations

import numpy as np
import pytest

from harness.reproduce import _page as P
from harness.reproduce import _safran_gd as G
from harness.reproduce import safran_shamir as S

pytest.importorskip("flint")


def _point(k: int, label: str) -> np.ndarray:
    from cases.relu import make_relu

    return np.asarray(make_relu(k=k).ground_truth.class_by_label(label).point).reshape(k, k)


def test_the_published_counts_and_their_standard_errors() -> None:
    assert G.published_pct(6, 6) == pytest.approx((0.3, 100 * np.sqrt(0.003 * 0.997 / 1000)))
    same = [G.PUBLISHED_BAD[(k, k)] for k in range(6, 21)]
    assert same[0] == 3 and same[-1] == 949 and all(a <= b for a, b in zip(same, same[1:]))
    assert all(G.PUBLISHED_BAD[(k, k + 1)] < G.PUBLISHED_BAD[(k, k)]
               for k in range(8, 20) if (k, k + 1) in G.PUBLISHED_BAD)
    assert G.published_pct(6, 7) is None and G.published_pct(8, 10) is None  # no stored file: no claim


def test_the_loss_for_n_students_is_the_case_loss_at_n_equal_k() -> None:
    import jax.numpy as jnp

    from cases.relu import make_relu

    case = make_relu(k=5)
    W = np.random.default_rng(0).standard_normal((5, 5))
    ours = float(G.population_loss(jnp.asarray(W), 5))
    assert ours == pytest.approx(float(case.loss(jnp.asarray(W.ravel()))), abs=1e-14)
    # n = k + 1: a teacher unit split into two parallel halves is still a global minimum (loss 0)
    V = np.eye(4)
    split = np.vstack([V, V[:1]])
    split[0] *= 0.5
    split[4] *= 0.5
    assert float(G.population_loss(jnp.asarray(split), 4)) == pytest.approx(0.0, abs=1e-14)


def test_descent_from_near_type_a_ends_at_the_certified_spurious_minimum() -> None:
    from cases.relu import make_relu

    k = 7
    gt = make_relu(k=k).ground_truth
    rng = np.random.default_rng(1)
    W0 = np.stack([_point(k, "typeA") + 1e-3 * rng.standard_normal((k, k)),
                   np.eye(k) + 1e-2 * rng.standard_normal((k, k))])
    res = G.descend(W0, k, max_iter=60_000)
    assert res["converged"].all() and (res["restarts"] == 0).all()
    kinds = [G.classify(res["W"][r], float(res["loss"][r]), k, gt) for r in range(2)]
    assert kinds[0]["kind"] == "certified spurious minimum" and kinds[0]["label"] == "typeA" and kinds[0]["index"] == 0
    assert kinds[1]["kind"] == "global minimum"
    t = G.tally(kinds)
    assert t["certified_spurious"] == 1 and t["authors_criterion"] == 1 and t["spurious_by_class"] == {"typeA": 1}


def test_unmatched_and_over_parameterised_end_points_are_unverified_with_a_dense_index() -> None:
    from cases.relu import make_relu

    k = 6
    W = _point(k, "typeA")
    loss = float(G.losses(W[None], k)[0])
    # no ground truth (as for n != k): unverified, with the float64 Hessian's index (type A is a minimum at k = 6)
    c = G.classify(W, loss, k, None)
    assert c["kind"] == "unverified, loss >= 1e-3" and c["index"] == 0 and not c["certified"]
    # a certified saddle of index 1 matched as such
    gt = make_relu(k=k).ground_truth
    s = G.classify(_point(k, "Δ(S_3 x S_3)#3"), 0.0237, k, gt)
    assert s["kind"] == "certified saddle" and s["index"] == 1
    # a non-critical point far from every class: unverified, loss < 1e-3 when near the global minimum
    near = np.eye(k) + 1e-4
    c2 = G.classify(near, float(G.losses(near[None], k)[0]), k, gt)
    assert c2["kind"] in ("unverified, loss < 1e-3", "global minimum")
    # n = k + 1: the Hessian is (n k) x (n k)
    W1 = np.vstack([W, 0.3 * np.ones((1, k))])
    c3 = G.classify(W1, float(G.losses(W1[None], k)[0]), k, gt)
    assert not c3["certified"] and (c3["index"] is None or c3["index"] >= 0)


def _res(k: int, n: int, runs: int, cert: int, authors: int, unv: int = 0) -> dict:
    return {"runs": runs, "certified_spurious": cert, "authors_criterion": authors, "unverified_min": unv,
            "counts": {kind: 0 for kind in G.KINDS}, "spurious_by_class": {}, "converged": runs, "restarts": 0,
            "iters_median": 1.0, "iters_max": 1}


def test_verdicts_of_the_gradient_descent_rows() -> None:
    # ours on the published values: reproduced
    res = {(8, 8): _res(8, 8, 200, 25, 25), (16, 16): _res(16, 16, 200, 170, 170),
           (8, 9): _res(8, 9, 200, 0, 0), (16, 17): _res(16, 17, 200, 36, 36)}
    rows = S.gd_rows(res)
    assert [r[5] for r in rows] == ["reproduced"] * 3
    P.Comparison("t", rows)  # every row passes the README's rule
    # the certified count falls short, the authors' criterion lands: differs, with the stored probe
    res[(16, 16)] = _res(16, 16, 200, 100, 170, unv=70)
    rows = S.gd_rows(res)
    assert rows[0][5].startswith("differs: ") and isinstance(rows[0][6], P.Probe) and rows[0][6].lands
    P.Comparison("t", rows)
    # neither lands: not reproduced
    res[(16, 16)] = _res(16, 16, 200, 60, 80, unv=20)
    rows = S.gd_rows(res)
    assert rows[0][5] == "not reproduced"
    # no drop with one more student unit: the over-parameterisation claim is not reproduced
    res[(16, 16)] = _res(16, 16, 200, 170, 170)
    res[(16, 17)] = _res(16, 17, 200, 165, 165)
    rows = S.gd_rows(res)
    assert rows[1][5] == "not reproduced" and rows[2][5] == "not reproduced"
    # the table lists every (k, n)
    assert len(S.gd_table(res)) == 4
