"""Stoican Table 6.1 (harness/reproduce/stoican.py): the end-point classifier on known points and the
protocol's two stages at a tiny size.  Ground truth: the certified teacher and LOCAL_A points of
cases/si_line.py (loss 0 / 0.144, index 0) and their SI duplications, never the optimizer's own output."""

from __future__ import annotations

import numpy as np
import pytest

from cases import get_case
from cases import si_line as si
from harness.reproduce import stoican as st


@pytest.fixture(scope="module")
def cases():
    return get_case("si-line", width=4, init="xavier"), get_case("si-line", width=5, init="xavier")


def test_classify_known_points(cases) -> None:
    case4, case5 = cases
    teacher_dup = si.duplicate(si.TEACHER_W, si.TEACHER_A, 1, 0.3)
    si_outer = si.duplicate(si.LOCAL_A_W, si.LOCAL_A_A, 3, 1.5)  # local-A-dup-3-outer: SI local minimum
    si_inner = si.duplicate(si.LOCAL_A_W, si.LOCAL_A_A, 3, 0.5)  # local-A-dup-3-inner: index 2 saddle
    zero = si.add_zero_neuron(si.LOCAL_A_W, si.LOCAL_A_A, np.array([0.3, 0.9]))  # not critical: w' is not free here
    out = st.classify(case4, case5, np.array([teacher_dup, si_outer, si_inner, zero]))
    assert out[0]["kind"] == "global" and out[0]["g2"] < 1e-20
    assert out[1]["kind"] == "local" and out[1]["si"] and out[1]["cor31"] is True and out[1]["g2"] < 1e-10
    assert out[2]["kind"] == "saddle" and out[2]["si"] and out[2]["cor31"] is False  # μ(1-μ)Y negative definite
    counts = st._counts(out[:3])
    assert (counts["global"], counts["local"], counts["si"], counts["saddle"], counts["nonglobal_neg_eig"]) == (
        1, 1, 1, 1, 1)
    # a zero output neuron at LOCAL_A: reduces to LOCAL_A (critical) -> SI, whatever its own gradient
    assert out[3]["si"] and out[3]["kind"] in ("local", "saddle") and out[3]["cor31"] is None


def test_reduce_si_merges_and_splits() -> None:
    theta = si.duplicate(si.LOCAL_A_W, si.LOCAL_A_A, 2, 0.25)
    theta4, mu, merge, dist = st.reduce_si(theta)
    assert np.allclose(theta4, si.pack(si.LOCAL_A_W, si.LOCAL_A_A)) and mu == pytest.approx(0.25)
    assert merge == (2, None) and dist == 0.0
    W, a = si.unpack(theta)
    W[-1] += 0.05  # neurons apart: no reduction
    assert st.reduce_si(si.pack(W, a)) is None


def test_adam_then_slsqp_tiny() -> None:
    """The protocol's stages at 2 starts: Adam lowers the loss; SLSQP then reaches a critical point or lower loss."""
    theta0 = get_case("si-line", width=5, init="xavier").sample_init(np.random.default_rng(0), 2)
    loss = lambda t: float(si.loss_fn(t, si.teacher_data()))  # noqa: E731
    theta, state = si.adam_train(theta0, 200, 1e-2)
    assert state[2].tolist() == [200.0, 200.0]
    assert all(loss(b) < loss(a) for a, b in zip(theta0, theta))
    ends = st.slsqp(theta)
    assert all(loss(e) <= loss(b) for b, e in zip(theta, ends))


def test_opposite_pair_is_close_but_not_symmetry_induced(cases) -> None:
    """Two near-equal neurons with large opposite outgoing weights (a derivative pair) are close in the
    Fig. 6.7 sense but merging them removes a neuron: not SI."""
    case4, case5 = cases
    w = np.array([0.3, 0.9])
    W = np.vstack([si.LOCAL_A_W[:3], w, w + 1e-3])
    a = np.append(si.LOCAL_A_A[:3], [40.0, -40.0])
    (rec,) = st.classify(case4, case5, si.pack(W, a)[None])
    assert rec["close"] and rec["opposite"] and not rec["si"]
    (rec,) = st.classify(case4, case5, si.duplicate(si.LOCAL_A_W, si.LOCAL_A_A, 3, 1.5)[None])
    assert rec["close"] and not rec["opposite"] and rec["si"]
